//! Picks the concrete AES type (and HMAC digest) for a runtime algorithm choice, so the
//! encryptors are written once.

/// Runs `$body` with `$cipher` bound to the AES type of `$size`.
macro_rules! with_aes {
    ($size:expr, $cipher:ident => $body:expr) => {
        match $size {
            $crate::crypto::AesKeySize::Aes128 => {
                type $cipher = aes::Aes128;
                $body
            }
            $crate::crypto::AesKeySize::Aes192 => {
                type $cipher = aes::Aes192;
                $body
            }
            $crate::crypto::AesKeySize::Aes256 => {
                type $cipher = aes::Aes256;
                $body
            }
        }
    };
}

/// Runs `$body` with `$mac` bound to the HMAC type of `$validation`.
macro_rules! with_hmac {
    ($validation:expr, $mac:ident => $body:expr) => {
        match $validation {
            $crate::crypto::ValidationAlgorithm::HmacSha256 => {
                type $mac = hmac::Hmac<sha2::Sha256>;
                $body
            }
            $crate::crypto::ValidationAlgorithm::HmacSha512 => {
                type $mac = hmac::Hmac<sha2::Sha512>;
                $body
            }
        }
    };
}

pub(crate) use with_aes;
pub(crate) use with_hmac;
