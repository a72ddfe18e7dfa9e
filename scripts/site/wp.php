<?php
/**
 * What wp-cli's `eval` and `eval-file` would do, for the harness's site (there is no wp-cli here):
 * boots the WordPress in $RUN_DIR/wordpress as the `admin` user, runs PHP code, prints the result.
 *
 *   php scripts/site/wp.php 'get_option("blogname")'         an expression: its value is printed
 *   php scripts/site/wp.php 'update_option("x", 1); return get_option("x");'   statements; `return` prints
 *   php scripts/site/wp.php -f file.php [args…]              the file runs; its args are in $args
 *   php scripts/site/wp.php --tests '…'                      the PHPUnit site (wordpress_test) instead
 *
 * Printing: strings as they are, null as nothing, anything else as JSON. A file's value is printed only
 * when it `return`s one. An uncaught exception is printed to stderr and the exit code is 1.
 *
 * The plugin needs the crmhook extension, so when it is not loaded this script runs itself again
 * with `-d extension=$CRMHOOK_SO` (default target/release/libcrmhook.so) — plain `php` is enough.
 * Mail is kept in $RUN_DIR/mail, like the site's.
 */

declare(strict_types=1);

if (PHP_SAPI !== 'cli') {
    exit(1);
}

$crmhook_run_dir = getenv('RUN_DIR') ?: dirname(__DIR__, 2) . '/.run';

if (!extension_loaded('crmhook') && getenv('CRMHOOK_WP_REEXEC') === false) {
    $so = getenv('CRMHOOK_SO') ?: dirname(__DIR__, 2) . '/target/release/libcrmhook.so';
    if (is_file($so) && function_exists('pcntl_exec')) {
        putenv('CRMHOOK_WP_REEXEC=1');
        pcntl_exec(PHP_BINARY, [
            '-d', "extension=$so",
            '-d', 'sendmail_path=' . __DIR__ . "/sendmail.sh $crmhook_run_dir/mail",
            // Settings saved here rewrite the fast lane's configuration, as the site's PHP would.
            '-d', "crmhook.lane_config=$crmhook_run_dir/lane/lane.json",
            ...$argv,
        ]);
    }
    fwrite(STDERR, "wp.php: warning: the crmhook extension is not loaded ($so)\n");
}

$args = array_slice($argv, 1);
if (($args[0] ?? '') === '--tests') {
    define('CRMHOOK_SITE_TESTS', true);
    array_shift($args);
}
$crmhook_file = null;
if (($args[0] ?? '') === '-f') {
    $crmhook_file = $args[1] ?? '';
    if (!is_file($crmhook_file)) {
        fwrite(STDERR, "wp.php: no such file: $crmhook_file\n");
        exit(2);
    }
    $args = array_slice($args, 2);
    $crmhook_code = null;
} elseif (count($args) === 1) {
    $crmhook_code = $args[0];
    $args = [];
} else {
    fwrite(STDERR, "usage: php wp.php [--tests] '<php code>' | php wp.php [--tests] -f file.php [args…]\n");
    exit(2);
}

if (!is_file("$crmhook_run_dir/wordpress/wp-load.php")) {
    fwrite(STDERR, "wp.php: no site in $crmhook_run_dir/wordpress: run scripts/site/up.sh first\n");
    exit(1);
}

// Runs at the top level, not in a function: WordPress and the code it runs expect global scope.
require "$crmhook_run_dir/wordpress/wp-load.php";

$crmhook_admin = get_user_by('login', 'admin');
if ($crmhook_admin) {
    wp_set_current_user($crmhook_admin->ID);
}

try {
    if ($crmhook_file !== null) {
        $crmhook_result = require $crmhook_file;
        if ($crmhook_result === 1) {
            $crmhook_result = null; // require's value when the file returns nothing
        }
    } else {
        $crmhook_code = rtrim(trim($crmhook_code), ';');
        // A single expression (no `;` inside) is returned; anything else runs as statements.
        $crmhook_result = !str_contains($crmhook_code, ';') && !preg_match('/^(echo|print|return)\b/', $crmhook_code)
            ? eval("return $crmhook_code;")
            : eval("$crmhook_code;");
    }
} catch (Throwable $crmhook_e) {
    fwrite(STDERR, get_class($crmhook_e) . ': ' . $crmhook_e->getMessage()
        . ' in ' . $crmhook_e->getFile() . ':' . $crmhook_e->getLine() . "\n");
    exit(1);
}

if (is_string($crmhook_result)) {
    echo $crmhook_result, "\n";
} elseif ($crmhook_result !== null) {
    echo json_encode($crmhook_result, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PARTIAL_OUTPUT_ON_ERROR), "\n";
}
