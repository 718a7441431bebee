# Path traversal in a user value. No JS/CSS decoding here (they eat backslashes), so ..\ stays.
# A single ../ is normal in code and markdown (imports, relative links) and is only flagged at
# PL2; at PL1 the value must start with a traversal, go deep, or reach a sensitive location.
# Decoded twice: JSON and XML values arrive undecoded, so `..%252f` (a double-encoded `../`
# that an application decoding its input once more turns into a traversal) needs both.
#@ category: traversal
#@ transforms: urlDecodeUni urlDecodeUni htmlEntityDecode removeNulls unicodeNormalize compressWhitespace
#@ severity: critical
#@ paranoia: 1
#@ message: Path traversal: value starts with a parent-directory sequence
^\s*(?:[a-z]+:)?(?:\.[\\/]+)*\.{2,}[\x01-\x1f]*[\\/;]
^\s*[\\/]+(?:\.[\\/]+)*\.{2,}[\x01-\x1f]*[\\/;]
#@ message: Path traversal: deep parent-directory sequence
(?:\.{2,}[\x01-\x1f]*[\\/;]+(?:\.[\\/]+)*){4,}
(?:\.{2,}[\\/;]+){2,}(?:etc|proc|root|boot|windows|winnt|inetpub|web-inf|meta-inf|var[\\/]+(?:log|www|lib|run)|usr[\\/]+(?:local|bin|lib|share))[\\/]
#@ message: Path traversal: parent-directory sequence reaching a sensitive location
\.{2,}[\\/;]+(?:\.{2,}[\\/;]+)*(?:etc[\\/]+(?:passwd|shadow|group|hosts|issue|sudoers|crontab|ssh|ssl|nginx|apache2|httpd|mysql|php)|proc[\\/]+(?:self|\d+)|windows[\\/]|winnt[\\/]|boot\.ini|win\.ini|inetpub[\\/]|web-inf[\\/]|meta-inf[\\/]|root[\\/]|\.ssh[\\/]|\.aws[\\/]|\.env\b|\.git[\\/]|\.htpasswd|\.bash_history|wp-config\.php|var[\\/]+(?:log|www|lib|run)[\\/]|usr[\\/]+local[\\/]|home[\\/]+[^\\/]+[\\/]+\.)
#@ message: Path traversal: Tomcat ..; segment
\.\.;[\\/]
#@ message: Path traversal: overlong UTF-8 or IIS unicode dot/slash
\.\.(?:\xc0[\xaf\xae\x2f]|\xc1[\x9c\x1c]|\xe0\x80[\xaf\xae])
(?:\xc0[\xae\x2e]|\xe0\x80\xae){2}
\.\.(?:\xf0\x80\x80[\xaf\xae]|\xf8\x80\x80\x80[\xaf\xae]|\xfc\x80\x80\x80\x80[\xaf\xae])
#@ message: Path traversal: Unicode slash look-alikes (IIS best-fit) after dots
(?:\.|\xef\xbc\x8e){2}(?:\xe2\x88[\x95\x96]|\xe2\x81\x84|\xef\xbc[\x8f\xbc]|\xee\xbf\x88|\xef\x80\xa5|\xef\xa3\xb5)
%u(?:002e|2215|2216|ff0e|ff0f|ff3c|2044)
#@ paranoia: 2
#@ severity: error
#@ message: Path traversal (PL2): parent-directory sequence
(?:^|[\\/=\s'"])\.{2,}[\\/]
