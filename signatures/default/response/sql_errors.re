# Database error messages in a response body: the application leaks query errors (and usually
# has an injectable query). Matched on response bodies of text types.
#@ category: data-leak
#@ transforms: none
#@ severity: critical
#@ paranoia: 1
#@ message: SQL error leaked: MySQL / MariaDB
you have an error in your sql syntax
check the manual that corresponds to your (?:mysql|mariadb) server version
\bwarning</b>:\s+mysqli?_\w+\(
\bwarning:\s+mysqli?_\w+\(\)
\bcom\.mysql\.(?:cj\.)?jdbc\.exceptions\.
\bmysql(?:i|_fetch_\w+|_num_rows|_query)\(\)\s*(?:expects|:)
\bunknown column '[^']+' in '(?:field list|where clause|order clause)'
\bSQLSTATE\[\w+\]
\bMySqlException\b
#@ message: SQL error leaked: PostgreSQL
\bERROR:\s+(?:syntax error at or near|unterminated quoted string at or near|invalid input syntax for (?:type|integer)|column "[^"]+" does not exist)
\bPG::(?:SyntaxError|UndefinedColumn|UndefinedTable|InvalidTextRepresentation)\b
\borg\.postgresql\.util\.PSQLException\b
\bpg_(?:query|exec|prepare)\(\):\s+Query failed
\bpsycopg2\.(?:errors\.\w+|ProgrammingError|DataError)\b
#@ message: SQL error leaked: Oracle
\bORA-\d{5}:
\bquoted string not properly terminated\b
\boracle\.jdbc\.(?:driver\.)?\w*(?:Exception|Error)\b
#@ message: SQL error leaked: Microsoft SQL Server
Microsoft OLE DB Provider for (?:SQL Server|ODBC Drivers)
\[Microsoft\]\[ODBC (?:SQL Server|Driver \d+ for SQL Server)\]
Unclosed quotation mark after the character string
Incorrect syntax near '[^']*'
\bSystem\.Data\.SqlClient\.SqlException\b
\bMicrosoft\.Data\.SqlClient\.SqlException\b
\bODBC SQL Server Driver\b
#@ message: SQL error leaked: SQLite / DB2 / generic
\bSQLite3::SQLException\b
\bsqlite3\.OperationalError:
\bSQLITE_ERROR\b
\bnear "[^"]{1,40}": syntax error\b
\bunrecognized token: "[^"]{1,40}"
\bDB2 SQL error: SQLCODE=
\bjava\.sql\.SQL(?:Syntax\w*|)Exception\b
\bSequelizeDatabaseError\b
\bQueryFailedError:
