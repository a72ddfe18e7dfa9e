<?php
/**
 * PHPUnit bootstrap for tests that need a real WordPress: the harness's WordPress ($RUN_DIR/wordpress),
 * booted on the test database `wordpress_test` with the table prefix `wptests_`, so the demo site is
 * never touched. Before loading it:
 *
 *   1. installs WordPress afresh on the test database (every run starts from a clean site; set
 *      CRMHOOK_TEST_KEEP_DB=1 to keep the previous run's data and install only when needed);
 *   2. activates the crmhook plugin, so it loads the way it does on a real site (plugins_loaded, init…).
 *
 * Both run in child processes: the installer needs WP_INSTALLING, which must not leak into the tests.
 * Needs the harness's MariaDB running (scripts/site/up.sh) and the extension loaded in PHPUnit's PHP:
 *
 *   php -d extension=target/release/libcrmhook.so /usr/bin/phpunit --bootstrap scripts/site/phpunit-bootstrap.php …
 *
 * A suite with its own bootstrap can define constants (e.g. WP_DEBUG) and then require this file.
 * Tests run as no user; call wp_set_current_user() where a test needs one (`admin` is user 1).
 */

declare(strict_types=1);

(static function (): void {
    $run_dir = getenv('RUN_DIR') ?: dirname(__DIR__, 2) . '/.run';
    $fail = static function (string $message): void {
        fwrite(STDERR, "phpunit-bootstrap: $message\n");
        exit(1);
    };

    if (!is_file("$run_dir/wordpress/wp-config.php")) {
        $fail("no site in $run_dir/wordpress: run scripts/site/up.sh first");
    }
    if (!file_exists("$run_dir/mariadb/mariadbd.sock")) {
        $fail("the harness's MariaDB is not running ($run_dir/mariadb/mariadbd.sock): run scripts/site/up.sh first");
    }

    $so = getenv('CRMHOOK_SO') ?: dirname(__DIR__, 2) . '/target/release/libcrmhook.so';
    if (!extension_loaded('crmhook')) {
        fwrite(STDERR, "phpunit-bootstrap: warning: the crmhook extension is not loaded in this PHP "
            . "(run PHPUnit with -d extension=$so)\n");
    }
    $php = escapeshellarg(PHP_BINARY) . ' -d ' . escapeshellarg("extension=$so")
        . ' -d ' . escapeshellarg('sendmail_path=' . __DIR__ . "/sendmail.sh $run_dir/mail");

    $fresh = getenv('CRMHOOK_TEST_KEEP_DB') === '1' ? '' : ' --fresh';
    $steps = [
        'install WordPress on the test database' =>
            "$php " . escapeshellarg(__DIR__ . '/install.php') . " --tests$fresh",
        'activate the crmhook plugin on the test site' =>
            "$php " . escapeshellarg(__DIR__ . '/wp.php') . ' --tests ' . escapeshellarg(
                'require_once ABSPATH . "wp-admin/includes/plugin.php";'
                . ' if (!is_file(WP_PLUGIN_DIR . "/crmhook/crmhook.php")) { return "no plugin to activate"; }'
                . ' $r = activate_plugin("crmhook/crmhook.php");'
                . ' if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . "\n"); exit(1); }'
            ),
    ];
    foreach ($steps as $what => $command) {
        exec("$command 2>&1", $output, $status);
        if ($status !== 0) {
            $fail("could not $what:\n  " . implode("\n  ", $output));
        }
        $output = [];
    }
})();

define('CRMHOOK_SITE_TESTS', true);

/*
 * PHPUnit includes this file from inside a function; WordPress expects to be loaded at the top level.
 * These are the globals WordPress assigns without `global` or $GLOBALS (the list WordPress's own test
 * bootstrap uses), declared here so they land in the global scope.
 */
global $wpdb, $current_site, $current_blog, $wp_rewrite, $shortcode_tags, $wp, $phpmailer, $wp_theme_directories;

require (getenv('RUN_DIR') ?: dirname(__DIR__, 2) . '/.run') . '/wordpress/wp-load.php';
