# cmake/ea_embed_text.cmake — run as `cmake -DIN=file -DOUT=file.c -DNAME=symbol -P this`: writes
# the bytes of IN into a C source as `const char NAME[]` (NUL-terminated) plus NAME_len, so a
# binary carries a text file (the GraphQL schema) without reading it at run time. The header with
# the declarations is written by ea_embed_text() in EaEmbed.cmake. Not for: sdk.js (sdk/embed.c
# also drops comments and reads a version banner).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REPEAT "0x..," 16 row)
string(REGEX REPLACE "(${row})" "\\1\n    " bytes "${bytes}")
file(WRITE "${OUT}.tmp"
     "/* generated from ${IN} by cmake/ea_embed_text.cmake: do not edit */\n"
     "#include <stddef.h>\n"
     "const char ${NAME}[] = {\n    ${bytes}0x00};\n"
     "const size_t ${NAME}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
