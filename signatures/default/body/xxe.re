# XML external entity attacks in the raw request body (any text content type, multipart file
# parts included, so an uploaded SVG/XML is covered). removeNulls turns UTF-16 XML into ASCII.
# Benign XML may have <!DOCTYPE svg PUBLIC "..." "http://www.w3.org/...dtd"> and internal
# entities (Adobe Illustrator SVG: <!ENTITY ns_ai "http://ns.adobe.com/...">) - both pass.
#@ category: xxe
#@ transforms: removeNulls compressWhitespace
#@ severity: critical
#@ paranoia: 1
#@ message: XXE: external entity declaration (SYSTEM/PUBLIC)
<!entity\s+(?:%\s*)?[\w.:-]+\s+(?:system|public)\b
#@ message: XXE: parameter entity
<!entity\s+%\s*[\w.:-]+\s
%[\w.:-]+;\s*(?:%[\w.:-]+;\s*)*\]\s*>
#@ message: XXE: external DTD fetched from a non-W3C location or a dangerous scheme
<!doctype\s+[\w:.-]+\s+system\s+["'](?:file|php|expect|jar|netdoc|gopher|ftp|data|dict|ldap)s?:
<!doctype\s+[\w:.-]+\s+system\s+["']https?://(?:\d{1,3}\.){3}\d{1,3}
<!doctype\s+[\w:.-]+\s+system\s+["']https?://[^"']*\.(?:burpcollaborator\.net|oastify\.com|oast\.\w+|interact\.sh|dnslog\.cn)
#@ message: XXE: entity expansion bomb (entities referencing entities)
<!entity\s+[\w.:-]+\s+["'](?:\s*&[\w.:-]+;){4,}
#@ message: XXE: XInclude
\bxmlns:xi\s*=\s*["']http://www\.w3\.org/2001/xinclude
<xi:include\b[^>]*\bhref\s*=
#@ message: XSLT injection: file read or code execution from a stylesheet
<xsl:[\w-]+\b[^>]*\bselect\s*=\s*["'][^"']*\b(?:unparsed-text|document|system-property)\s*\(
\bxmlns:(?:php|java|rt|runtime|ob)\s*=\s*["'](?:http://php\.net/xsl|java:|http://xml\.apache\.org/xalan/java)
#@ paranoia: 2
#@ severity: error
#@ message: XXE (PL2): DOCTYPE with an external DTD
<!doctype\s+[\w:.-]+\s+system\s+["']https?://
