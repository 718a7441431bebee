# LDAP filter injection: closing a filter and opening a new one.
#@ category: ldap
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: LDAP injection: filter breakout
\*\s*\(\s*[|&]\s*\(\s*[\w-]+\s*=\s*\*?\s*\)
^[^()]{0,100}\)\s*\(\s*\(\s*[|&]
^\s*\)\s*\(\s*[\w-]+\s*=
\*\s*\(\s*\)\s*\|
\*\s*\)\s*\(\s*[|&!]?\s*\(?\s*[\w-]+\s*[~<>]?=
^[^()]{0,100}\)\s*\(\s*[|&!]?\s*\(?\s*[\w-]+\s*[~<>]?=
^[\w@.*-]*\)\s*\(\s*[&|!]?\s*\)?\s*$
\)\s*\(\s*(?:uid|cn|objectclass|mail|userpassword|samaccountname|sn|givenname|memberof)\s*=\s*\*
