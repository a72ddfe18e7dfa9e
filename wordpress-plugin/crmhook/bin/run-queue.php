<?php
/**
 * Drives the webhook queue from a system cron, for sites that turn WP-Cron off
 * (DISABLE_WP_CRON). It loads WordPress, drains the queue for up to --seconds, prints what it
 * did and exits: 0 when it ran, 1 when WordPress or the extension could not be loaded.
 *
 *   php -d extension=/path/to/libcrmhook.so wp-content/plugins/crmhook/bin/run-queue.php \
 *       [--wp=/path/to/wordpress] [--seconds=55]
 *
 * A crontab line (every minute, one runner at a time by the plugin's own locks):
 *
 *   * * * * * php /var/www/html/wp-content/plugins/crmhook/bin/run-queue.php --seconds=55 >/dev/null
 *
 * --wp defaults to the WordPress four directories up (wp-content/plugins/crmhook/bin).
 *
 * @package crmhook
 */

declare(strict_types=1);

if ( PHP_SAPI !== 'cli' ) {
	exit( 1 );
}

$crmhook_options = getopt( '', array( 'wp:', 'seconds:', 'help' ) );
if ( isset( $crmhook_options['help'] ) ) {
	fwrite( STDOUT, "usage: php run-queue.php [--wp=/path/to/wordpress] [--seconds=55]\n" );
	exit( 0 );
}
$crmhook_wp      = rtrim( (string) ( $crmhook_options['wp'] ?? dirname( __DIR__, 4 ) ), '/' );
$crmhook_seconds = max( 1.0, (float) ( $crmhook_options['seconds'] ?? 55 ) );
if ( ! is_file( $crmhook_wp . '/wp-load.php' ) ) {
	fwrite( STDERR, "run-queue: no WordPress at {$crmhook_wp} (give --wp=/path/to/wordpress)\n" );
	exit( 1 );
}

// WordPress reads these on every request; a cron job has none.
$_SERVER['HTTP_HOST']      = $_SERVER['HTTP_HOST'] ?? 'localhost';
$_SERVER['REQUEST_URI']    = $_SERVER['REQUEST_URI'] ?? '/';
$_SERVER['REQUEST_METHOD'] = $_SERVER['REQUEST_METHOD'] ?? 'GET';
// Not a page view: no WP-Cron spawn from this process.
define( 'DOING_CRON', true );

require $crmhook_wp . '/wp-load.php';

if ( ! class_exists( 'CrmHook_Runner' ) || ! CrmHook_Plugin::extension_loaded() ) {
	fwrite( STDERR, "run-queue: the crmhook plugin is not active or the crmhook extension is not loaded (php -d extension=/path/to/libcrmhook.so)\n" );
	exit( 1 );
}

$crmhook_ran     = CrmHook_Runner::run( $crmhook_seconds, 'cli' );
$crmhook_summary = CrmHook_Queue::summary();
fwrite(
	STDOUT,
	sprintf(
		"run-queue: ran %d jobs; queued %d, running %d, done %d, failed %d\n",
		$crmhook_ran,
		$crmhook_summary['counts']['queued'],
		$crmhook_summary['counts']['running'],
		$crmhook_summary['counts']['done'],
		$crmhook_summary['counts']['failed']
	)
);
exit( 0 );
