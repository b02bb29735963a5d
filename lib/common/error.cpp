// SPDX-License-Identifier: MIT
#include <presenceagg/error.hpp>

namespace presenceagg {
namespace {

class Category final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "presenceagg"; }
    [[nodiscard]] std::string message(int code) const override {
        switch (static_cast<Errc>(code)) {
            case Errc::InvalidConfig:
                return "invalid configuration";
            case Errc::Cancelled:
                return "cancelled";
            case Errc::Io:
                return "I/O error";
            case Errc::InvalidJson:
                return "invalid JSON";
            case Errc::InvalidUtf8:
                return "invalid UTF-8";
            case Errc::WrongType:
                return "wrong JSON type";
            case Errc::MissingField:
                return "missing field";
            case Errc::TooLarge:
                return "too large";
            case Errc::TooDeep:
                return "nested too deeply";
            case Errc::UnknownSource:
                return "unknown source";
            case Errc::UnknownAction:
                return "unknown presence action";
            case Errc::InvalidEncoding:
                return "invalid data encoding";
            case Errc::AmqpConnect:
                return "AMQP connection failed";
            case Errc::AmqpAuthRefused:
                return "AMQP credentials refused";
            case Errc::AmqpChannelClosed:
                return "AMQP channel closed by the broker";
            case Errc::AmqpConnectionClosed:
                return "AMQP connection lost";
            case Errc::HttpTransport:
                return "HTTP transport error";
            case Errc::AblyRejected:
                return "Ably rejected the request";
            case Errc::AblyRateLimited:
                return "Ably rate limit";
            case Errc::AblyUnauthorized:
                return "Ably refused the credentials";
            case Errc::AblyServerError:
                return "Ably server error";
            case Errc::MessageTooLarge:
                return "message too large";
        }
        return "unknown presenceagg error";
    }
};

}  // namespace

const std::error_category& error_category() noexcept {
    static const Category category;
    return category;
}

std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

Error::Error(Errc code, const std::string& what)
    : std::system_error(make_error_code(code), what) {}
Error::Error(std::error_code code, const std::string& what)
    : std::system_error(code, what) {}

}  // namespace presenceagg
