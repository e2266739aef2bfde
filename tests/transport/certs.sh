#!/bin/sh
# Generates the TLS material of the transport tests into DIR (loopback only,
# throw-away keys, valid for a few days):
#   ca.pem/ca.key            local test CA
#   server.pem/server.key    CA-signed, SAN DNS:localhost, IP:127.0.0.1
#   wrong.pem/wrong.key      CA-signed, SAN DNS:wrong.invalid only
#   self.pem/self.key        self-signed, SAN DNS:localhost, IP:127.0.0.1
#   expired.pem/expired.key  CA-signed for localhost, valid only in 2020 (openssl ca
#                            -startdate/-enddate; absent if this openssl cannot)
#   client.pem/client.key    CA-signed client certificate (clientAuth)
#   client-enc.key           client.key encrypted with the password "clientpass"
#   capath/                  ca.pem under its hash name (openssl rehash)
#   server.pin               sha256//<base64 of the SPKI hash> of server.key
#   other.pin                the same for wrong.key (a pin that does not match)
#   server.pub.pem           server.key's public key (a pin given as a file)
# usage: sh tests/transport/certs.sh DIR
set -eu
dir=$1
mkdir -p "$dir" "$dir/capath" "$dir/ca-db"
cd "$dir"

cat > openssl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ljhttp test
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[wrong]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.invalid
[self]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
[ca]
default_ca = testca
[testca]
dir = ca-db
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
EOF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
cfg="-config openssl.cnf"

key ca.key
openssl req $cfg -x509 -new -key ca.key -subj "/CN=ljhttp test CA" -days 7 \
    -extensions v3_ca -out ca.pem

signed() { # name CN extensions
    key "$1.key"
    openssl req $cfg -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 7 \
        -extfile openssl.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
}
signed server localhost server
signed wrong wrong.invalid wrong
signed client "ljhttp client" client

key self.key
openssl req $cfg -x509 -new -key self.key -subj "/CN=localhost" -days 7 -extensions self \
    -out self.pem

# Expired: openssl ca can set both dates in the past.
: > ca-db/index.txt
echo 1000 > ca-db/serial
key expired.key
openssl req $cfg -new -key expired.key -subj "/CN=localhost" -out expired.csr
if ! openssl ca $cfg -batch -notext -in expired.csr -startdate 20200101000000Z \
    -enddate 20200102000000Z -extensions server -out expired.pem >/dev/null 2>ca-db/err.txt; then
    rm -f expired.pem expired.key
fi

openssl pkey -in client.key -aes256 -passout pass:clientpass -out client-enc.key

cp ca.pem capath/ca.pem
openssl rehash capath 2>/dev/null || c_rehash capath >/dev/null

pin() {
    printf 'sha256//%s' "$(openssl pkey -in "$1" -pubout -outform DER |
        openssl dgst -sha256 -binary | openssl enc -base64 -A)" > "$2"
}
pin server.key server.pin
openssl pkey -in server.key -pubout -out server.pub.pem
pin wrong.key other.pin

rm -f ./*.csr
