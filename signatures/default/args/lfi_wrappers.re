# Stream wrappers that turn a file parameter into code execution or arbitrary reads.
#@ category: lfi
#@ transforms: default lowercase
#@ severity: critical
#@ paranoia: 1
#@ message: LFI/RFI: PHP stream wrapper
\bphp://(?:filter|input|stdin|fd|memory|temp)\b
\b(?:expect|phar|zip|glob|ssh2\.(?:shell|exec|tunnel|sftp|scp)|rar|ogg|compress\.(?:zlib|bzip2))://
\bdata://(?:text|application|image)/[\w.+-]+[;,]
\bdata:(?:text/plain|application/x-php)[;,](?:base64,)?\s*(?:<\?|pd9w)
\bconvert\.(?:base64-(?:en|de)code|iconv\.|quoted-printable|string\.rot13)
\bresource\s*=\s*(?:[\w./-]*\.php|/etc/|\.\./)
#@ message: LFI: file:// URL
\bfile:/{1,3}(?:[a-z]:)?/*(?:etc|proc|var|root|home|windows|winnt|users|boot\.ini|c:|\.\.)\b
^\s*file:///
#@ message: RFI: remote URL ending in '?' (appended path discarded)
^\s*(?:https?|ftps?)://[^\s?]+\?+\s*$
^\s*(?:https?|ftps?)://[^\s]+\.(?:txt|php\d?|jpg|gif|png)\?+\s*$
