// SPDX-License-Identifier: MIT
#pragma once

/// Error model. Setup and misconfiguration throw `presenceagg::Error`; the hot paths (decode,
/// apply, publish) return values carrying a `std::error_code` from this category instead.
/// Nothing is thrown across a C callback or out of a destructor.

#include <string>
#include <system_error>

#include <presenceagg/export.hpp>

namespace presenceagg {

enum class Errc {
    // configuration and lifecycle
    InvalidConfig = 1,  ///< a setting is missing or out of range; the message names it
    Cancelled,          ///< an operation was interrupted by stop()/cancel()
    Io,                 ///< a local file could not be read or written
    // input decoding
    InvalidJson,      ///< the body is not well-formed JSON
    InvalidUtf8,      ///< a string is not valid UTF-8
    WrongType,        ///< a field has the wrong JSON type
    MissingField,     ///< a required field is absent
    TooLarge,         ///< a body, string or member data exceeds its configured bound
    TooDeep,          ///< JSON nesting exceeds the configured depth
    UnknownSource,    ///< an envelope's `source` is not one we can use
    UnknownAction,    ///< a presence action that is neither 0..4 nor a known name
    InvalidEncoding,  ///< `data` cannot be decoded as its `encoding` claims
    // transports
    AmqpConnect,           ///< TCP/TLS/AMQP handshake failed
    AmqpAuthRefused,       ///< the broker refused the credentials (not retried)
    AmqpChannelClosed,     ///< the broker closed the channel (e.g. unknown queue)
    AmqpConnectionClosed,  ///< the connection was lost
    HttpTransport,         ///< DNS, connect, TLS or timeout failure talking HTTP
    AblyRejected,          ///< Ably answered 4xx (other than 401/429)
    AblyRateLimited,       ///< Ably answered 429
    AblyUnauthorized,      ///< Ably answered 401
    AblyServerError,       ///< Ably answered 5xx
    MessageTooLarge,       ///< a message would exceed the configured max message size
};

/// The category of `Errc` codes ("presenceagg").
PRESENCEAGG_API const std::error_category& error_category() noexcept;

PRESENCEAGG_API std::error_code make_error_code(Errc e) noexcept;

/// Thrown for setup errors and by `Pipeline::wait()` for fatal worker errors.
class PRESENCEAGG_API Error : public std::system_error {
public:
    Error(Errc code, const std::string& what);
    explicit Error(std::error_code code, const std::string& what);
};

}  // namespace presenceagg

template <>
struct std::is_error_code_enum<presenceagg::Errc> : std::true_type {};
