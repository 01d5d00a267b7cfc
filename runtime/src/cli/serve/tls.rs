//! TLS for `records serve` (`[serve] tls_certificate` and `tls_key`):
//! rustls with the certificate chain and key read from PEM files.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;
use crate::error::{Error, Result};

/// The acceptor that answers over TLS with `files`.
pub(crate) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor> {
    let unreadable = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        Error::Config(format!(
            "[serve] cannot read the {what} {}: {e}; give a PEM file",
            path.display()
        ))
    };
    let certificates = CertificateDer::pem_file_iter(&files.certificate)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| unreadable("certificate chain", &files.certificate, &e))?;
    if certificates.is_empty() {
        return Err(Error::Config(format!(
            "[serve] {} holds no certificate",
            files.certificate.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| unreadable("private key", &files.key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| {
            builder
                .with_no_client_auth()
                .with_single_cert(certificates, key)
        })
        .map_err(|e| {
            Error::Config(format!(
                "[serve] the TLS certificate and key do not make a server: {e}"
            ))
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
