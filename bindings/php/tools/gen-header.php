<?php
// Turns crates/trust-ffi/include/trust.h into the declarations PHP's FFI parser accepts
// (src/trust_ffi.h): PHP's FFI::cdef() takes no preprocessor directives, no includes and no
// `extern "C"`, and passes PHP strings only to `char *`/`void *` parameters.
//
//   php bindings/php/tools/gen-header.php crates/trust-ffi/include/trust.h > bindings/php/src/trust_ffi.h
//
// Conditionals are evaluated for C11 (not C++, __STDC_VERSION__ below C23); a condition this
// script does not know stops it with an error rather than guessing. `uint8_t *` parameters
// become `char *` (same ABI: a pointer to bytes) so PHP strings pass without a copy. `#define`
// constants are dropped: the PHP classes carry them (and the test suite checks them against the
// runtime functions where the library has one). .ci/ffi regenerates the file and fails on any
// difference.

declare(strict_types=1);

if ($argc !== 2) {
    fwrite(STDERR, "usage: php gen-header.php path/to/trust.h\n");
    exit(2);
}
$text = file_get_contents($argv[1]);
if ($text === false) {
    fwrite(STDERR, "cannot read {$argv[1]}\n");
    exit(3);
}

// Truth value of each conditional cbindgen writes, for a C11 compiler.
$known = [
    '#ifndef TRUST_H' => true,
    '#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L' => false,
    '#ifndef __cplusplus' => true,
    '#if __STDC_VERSION__ >= 202311L' => false,
    '#ifdef __cplusplus' => false,
];

$out = [];
$stack = []; // each entry: [this branch active, parent active]
$active = true;
$inBlockComment = false;
foreach (preg_split('/\R/', $text) as $n => $line) {
    $trimmed = trim($line);
    if ($inBlockComment) {
        if (str_contains($trimmed, '*/')) {
            $inBlockComment = false;
        }
        continue;
    }
    if (str_starts_with($trimmed, '/*')) {
        $inBlockComment = !str_contains($trimmed, '*/');
        continue;
    }
    if (str_starts_with($trimmed, '#')) {
        $directive = preg_replace('#\s*//.*$#', '', $trimmed);
        if (str_starts_with($directive, '#if')) {
            if (!array_key_exists($directive, $known)) {
                fwrite(STDERR, "line " . ($n + 1) . ": unknown conditional: $directive\n");
                exit(1);
            }
            $stack[] = [$known[$directive], $active];
            $active = $active && $known[$directive];
        } elseif (str_starts_with($directive, '#else')) {
            [$cond, $parent] = array_pop($stack);
            $stack[] = [!$cond, $parent];
            $active = $parent && !$cond;
        } elseif (str_starts_with($directive, '#endif')) {
            [, $parent] = array_pop($stack);
            $active = $parent;
        } elseif (!preg_match('/^#(define|include) /', $directive)) {
            fwrite(STDERR, "line " . ($n + 1) . ": unknown directive: $directive\n");
            exit(1);
        }
        continue;
    }
    if (!$active || $trimmed === '' || str_starts_with($trimmed, '//')) {
        continue;
    }
    // Parameters only: a `const char *` *return* value is turned into a NUL-terminated PHP
    // string by FFI, which would cut binary data (trust_bytes_data) at its first zero byte.
    if (!preg_match('/^(const )?uint8_t \*trust_/', $trimmed)) {
        $line = preg_replace('/\buint8_t\s*\*/', 'char *', $line);
    }
    $out[] = rtrim($line);
}
if ($stack !== []) {
    fwrite(STDERR, "unbalanced conditionals\n");
    exit(1);
}
echo "/* GENERATED from crates/trust-ffi/include/trust.h by bindings/php/tools/gen-header.php;\n";
echo " * do not edit. Declarations only, as PHP's FFI parser takes them. */\n";
echo implode("\n", $out), "\n";
