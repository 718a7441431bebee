# Encodings no legitimate client produces in a request target: overlong UTF-8 sequences,
# IIS %u escapes of dots and slashes, NUL bytes, and double-encoded dot/slash/NUL.
#@ category: traversal
#@ transforms: none
#@ severity: critical
#@ paranoia: 1
#@ message: Evasion: overlong UTF-8 encoding in the URL
%c0%[0-9a-f]{2}
%c1%[0-9a-f]{2}
%e0%80%[0-9a-f]{2}
%f0%80%80%[0-9a-f]{2}
#@ message: Evasion: IIS %u encoding of dot/slash/backslash in the URL
%u(?:002e|002f|005c|2215|2216|2044|ff0e|ff0f|ff3c|0000|000a|000d)
#@ message: Evasion: NUL byte in the URL
%(?:25)*00
#@ message: Evasion: double-encoded dot segment
%25(?:25)*2e(?:%25(?:25)*2e|\.)
\.%25(?:25)*2e
