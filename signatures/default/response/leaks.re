# Directory listings, system files and secrets in a response body.
#@ category: data-leak
#@ transforms: none
#@ severity: critical
#@ paranoia: 1
#@ message: Directory listing
<title>Index of /
<h1>Index of /
<title>Directory listing for /
\[To Parent Directory\]
#@ message: System file content leaked: /etc/passwd
\broot:[x*!]:0:0:
\b(?:daemon|bin|sys|nobody|www-data):[x*!]:\d+:\d+:
#@ message: System file content leaked: Windows
; for 16-bit app support
\[boot loader\]\s+timeout=
#@ message: Private key leaked
-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----
#@ message: Secret leaked: cloud credentials file
\baws_secret_access_key\s*=\s*[A-Za-z0-9/+=]{40}
#@ message: Source leaked: PHP source or environment file
\A<\?php\s
(?m:^)\s*(?:APP_KEY=base64:|DB_PASSWORD=\S|AWS_SECRET_ACCESS_KEY=\S)
#@ paranoia: 2
#@ severity: error
#@ message: Possible secret in response (PL2)
\bAKIA[0-9A-Z]{16}\b
\bgh[pousr]_[A-Za-z0-9]{36}\b
\bxox[baprs]-[A-Za-z0-9-]{10,}
