# promql/parser.mk - lexer, lemon grammar, AST, printer, function table.
