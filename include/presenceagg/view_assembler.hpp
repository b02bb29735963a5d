// SPDX-License-Identifier: MIT
#pragma once
// ViewAssembler: written by the publish component.
