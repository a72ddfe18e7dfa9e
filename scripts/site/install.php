<?php
/**
 * Installs WordPress into the harness's database when it is not installed yet, the way the web
 * installer would, without a browser and without wp-cli:
 *
 *   php -d extension=… scripts/site/install.php [--tests] [--fresh]
 *
 * --tests installs the PHPUnit site (database wordpress_test, prefix wptests_) instead of the demo site.
 * --fresh drops that site's tables first, so the install starts from nothing.
 * Site title "crmhook demo", admin `admin` with the password in $RUN_DIR/admin-password,
 * admin@example.com, pretty permalinks /%postname%/. Prints what it did; exits 1 on failure.
 * Called by up.sh and phpunit-bootstrap.php; run on its own only to debug an install.
 */

declare(strict_types=1);

if (PHP_SAPI !== 'cli') {
    exit(1);
}

$run_dir = getenv('RUN_DIR') ?: dirname(__DIR__, 2) . '/.run';
$tests = in_array('--tests', $argv, true);
if ($tests) {
    define('CRMHOOK_SITE_TESTS', true);
}

$password_file = "$run_dir/admin-password";
$password = is_readable($password_file) ? trim((string) file_get_contents($password_file)) : '';
if ($password === '') {
    fwrite(STDERR, "install: $password_file is missing or empty (up.sh creates it)\n");
    exit(1);
}

define('WP_INSTALLING', true);

/*
 * The installer mails "your new site" to the admin; the demo has nobody to tell, and the mail would
 * be the first thing tests find in $RUN_DIR/mail. wp_new_blog_notification() is pluggable: defining
 * it before upgrade.php is loaded replaces it.
 */
function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password): void
{
}

require "$run_dir/wordpress/wp-load.php";
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$where = DB_NAME . ' (prefix ' . $GLOBALS['table_prefix'] . ')';

if (in_array('--fresh', $argv, true)) {
    global $wpdb;
    $like = $wpdb->esc_like($GLOBALS['table_prefix']) . '%';
    foreach ($wpdb->get_col($wpdb->prepare('SHOW TABLES LIKE %s', $like)) as $table) {
        $wpdb->query("DROP TABLE `$table`");
    }
    wp_cache_flush();
}
if (is_blog_installed()) {
    echo "install: WordPress already installed in $where\n";
    exit(0);
}

// wp_install() probes the site over HTTP to pick permalinks; we set them ourselves, so answer offline.
add_filter('pre_http_request', static fn () => new WP_Error('crmhook_offline', 'no HTTP during install'));

$result = wp_install('crmhook demo', 'admin', 'admin@example.com', true, '', wp_slash($password));
if (empty($result['user_id'])) {
    fwrite(STDERR, "install: wp_install() failed in $where\n");
    exit(1);
}

global $wp_rewrite;
$wp_rewrite->set_permalink_structure('/%postname%/');
// Writes the rules to the database only: nginx routes everything to index.php, no .htaccess needed.
$wp_rewrite->flush_rules(false);

echo "install: installed WordPress " . get_bloginfo('version') . " in $where\n";
