# SQL keywords split by inline comments (UN/**/ION SEL/**/ECT): comment markers are deleted
# (removeCommentsChar) so the keyword is re-joined. Only shapes that are SQL after joining.
#@ category: sqli
#@ transforms: default removeCommentsChar compressWhitespace
#@ severity: critical
#@ message: SQL injection: keyword split by inline comments
\bunion\s*(?:all\s*|distinct\s*)?select(?:\s*[\d'"@*(`]|\s*null\b|\s+[\w.]+\s*(?:,|\bfrom\b))
\bsel(?:ect)?\s*(?:\*|\d+(?:\s*,\s*\d+)+)\s*from\s+information_schema\b
\binformation_schema\s*\.\s*(?:tables|columns|schemata)\b
\b(?:sleep|benchmark|pg_sleep)\s*\(\s*\d+\s*[,)]\s*(?:,\s*\d+\s*\))?\s*(?:-|$|\)|x?or\b|and\b|'|")

# MySQL versioned comments /*!50000UNION*/ keep their content, so the raw (no comment
# handling) pipeline must see them.
#@ transforms: default
#@ message: SQL injection: MySQL versioned comment
/\*!\d*\s*(?:union|select|from|where|and|or|xor|order|group|having|limit|into|load_file|sleep|benchmark|concat|information_schema|insert|update|delete|drop)\b
/\*!\d{5}
#@ message: SQL injection: comment after a quote ends the query
['"`]\s*\)*\s*/\*\s*$
(?:union|select)/\*
