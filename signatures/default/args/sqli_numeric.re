# SQL injection into a numeric parameter (`WHERE id = <value>`): no quote to break out of, so
# the value itself starts with a number and goes on with a boolean operator. sqli.re covers
# number-operator-number comparisons (1 or 1=1); these are the other shapes of the same
# tautology: a literal (1 or true), a quoted comparison (1 or 'a'='a'), an SQL predicate
# (1 or 1 in (1,2), 1 and 1 between 0 and 2), xor and the C-style operators. Every pattern is
# anchored at the start of the value: prose that merely contains "1 or true" passes.
#@ category: sqli
#@ transforms: default replaceComments compressWhitespace
#@ severity: critical
#@ paranoia: 1

#@ message: SQL injection: numeric value then a boolean literal
^\s*-?\d+(?:\.\d+)?\s*\)*(?:\s+(?:or|xor|and)\s+|\s*(?:\|\||&&)\s*)\(*\s*(?:true|false|null|not\s+(?:true|false|null))\s*\)*\s*(?:--|#|/\*|;|$)
#@ message: SQL injection: numeric value then a quoted comparison
^\s*-?\d+(?:\.\d+)?\s*\)*(?:\s+(?:or|xor|and)\s+|\s*(?:\|\||&&)\s*)\(*\s*(?:'[^']*'|"[^"]*")\s*(?:=|<>|!=|<=?|>=?|\blike\b|\brlike\b|\bregexp\b)\s*\(*\s*['"\w]
#@ message: SQL injection: numeric value then an SQL predicate
^\s*-?\d+(?:\.\d+)?\s*\)*(?:\s+(?:or|xor|and)\s+|\s*(?:\|\||&&)\s*)\(*\s*(?:-?\d+|'[^']*'|"[^"]*"|true|false|null)\s*(?:(?:not\s+)?between\s+-?\d+\s+and\s+-?\d|is\s+(?:not\s+)?null\b|(?:not\s+)?(?:rlike|regexp)\s+['"\d(])
^\s*-\d+\s*\)*\s+(?:or|xor)\s+\(*\s*-?\d+\s+(?:not\s+)?in\s*\(\s*-?\d
#@ message: SQL injection: numeric value xor a number
^\s*-?\d+\s*\)*\s+xor\s+\(*\s*-?\d+\s*\)*\s*(?:--|#|/\*|;|$)
#@ message: SQL injection: numeric value and a number ended by a comment
^\s*-?\d+\s*\)*\s+(?:or|and)\s+\(*\s*-?\d+\s*\)*\s*(?:--[\s-]*|#\s*|/\*.*)$
#@ message: SQL injection: numeric value breaking out of parentheses
^\s*-?\d+\s*\)+(?:\s+(?:or|xor)\s+|\s*\|\|\s*)\(+\s*-?\d+\s*$
#@ message: SQL injection: numeric value and a server function compared (error-based)
^\s*-?\d+['"]?\s*\)*\s+(?:and|or)\s+\(*\s*(?:user|system_user|current_user|session_user|@@\w+|(?:db_name|user_name|suser_name|suser_sname|host_name|version|database|schema)\s*\(\s*\))\s*(?:=|<>|!=|<=|>=?)\s*['"\d(]
#@ message: SQL injection: quote, comparison and comment
^\s*['"]\s*(?:=|<>|!=)\s*-?\d+\s*(?:--|#|/\*)

#@ paranoia: 2
#@ severity: error
#@ message: SQL injection (PL2): numeric value || / && a number (12||34 is also just text)
^\s*-?\d+\s*\)*\s*(?:\|\||&&)\s*\(*\s*-?\d+\s*\)*\s*(?:--|#|/\*|;|$)
