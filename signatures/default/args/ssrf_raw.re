# SSRF shapes that normalization would hide: UNC paths (backslashes must survive, so no JS
# decoding) and host names written with Unicode digits/letters that NFKC turns into an IP.
#@ category: ssrf
#@ transforms: urlDecodeUni removeNulls lowercase
#@ severity: critical
#@ paranoia: 1
#@ message: SSRF: UNC path to a remote host (NTLM hash leak)
^\s*(?:\\\\|//)[\w.-]+\.[a-z]{2,}\\[\w$.-]+
^\s*\\\\\d{1,3}(?:\.\d{1,3}){3}\\
#@ message: SSRF: URL host written with enclosed/full-width Unicode characters
(?:https?|ftp)://[^/?#\s]*(?:\xe2\x91[\xa0-\xbf]|\xe2\x92[\x80-\xbf]|\xe2\x93[\x80-\xbf]|\xef\xbc[\x90-\x99\x8e])
