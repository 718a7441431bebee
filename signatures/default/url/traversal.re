# Path traversal in the request target. Browsers and HTTP libraries normalize dot segments, so
# any /../ left in a raw target is an attack. Decoded twice (double encoding), NULs removed,
# NFKC (full-width dots and slashes).
#@ category: traversal
#@ transforms: urlDecodeUni urlDecodeUni removeNulls unicodeNormalize
#@ severity: critical
#@ paranoia: 1
#@ message: Path traversal in the URL
^[^?#]*[/\\]\.{2,}(?:[/\\;?#]|$)
#@ message: Path traversal: Windows command interpreter or shell reached through the URL
^[^?#]*/(?:winnt|windows)/system32/
^[^?#]*/(?:cmd|command)\.(?:exe|com)\b
^[^?#]*/bin/(?:ba|z|k|da)?sh\b
