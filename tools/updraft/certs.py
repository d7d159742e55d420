# A throwaway PKI for https tests and the bench (host side, `cryptography` only: no openssl
# CLI): a CA, a server certificate for 127.0.0.1 / localhost signed by it, one whose
# names match nothing we connect to, and a second CA that signed none of them. P-256
# keys, valid from yesterday for 30 days.
#   pki(dir) -> dict of paths: ca_pem, ca_der, other_ca_der, server_crt, server_key,
#   wrong_crt, wrong_key
# SPDX-License-Identifier: MIT
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_PEM = serialization.Encoding.PEM
_DER = serialization.Encoding.DER


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject, issuer, key):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)))


def make_ca(cn):
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False)
    cert = (_builder(_name(cn), _name(cn), key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server(ca_key, ca_cert, dns=(), ips=()):
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cn = (list(dns) + list(ips))[0]
    cert = (_builder(_name(cn), ca_cert.subject, key)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def _key_pem(key):
    return key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def pki(d):
    os.makedirs(d, exist_ok=True)
    ca_key, ca = make_ca("updraft test CA")
    _, other = make_ca("updraft other CA")
    key, srv = make_server(ca_key, ca, dns=("localhost",), ips=("127.0.0.1",))
    wkey, wrong = make_server(ca_key, ca, dns=("wrong.example",))
    j = os.path.join
    return {
        "ca_pem": _write(j(d, "ca.pem"), ca.public_bytes(_PEM)),
        "ca_der": _write(j(d, "ca.der"), ca.public_bytes(_DER)),
        "other_ca_der": _write(j(d, "other-ca.der"), other.public_bytes(_DER)),
        # the right CA after an unrelated one, PEM: every anchor in the file counts
        "both_pem": _write(j(d, "both.pem"), other.public_bytes(_PEM) + ca.public_bytes(_PEM)),
        "server_crt": _write(j(d, "server.crt"), srv.public_bytes(_PEM)),
        "server_key": _write(j(d, "server.key"), _key_pem(key)),
        "wrong_crt": _write(j(d, "wrong.crt"), wrong.public_bytes(_PEM)),
        "wrong_key": _write(j(d, "wrong.key"), _key_pem(wkey)),
    }
