#pragma once
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
