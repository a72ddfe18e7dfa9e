<?php
/**
 * The fast lane's entry: PHP runs this file first (auto_prepend_file) for a request whose query
 * string carries wpf_action, when the server's owner turned the lane on (crmhook.lane,
 * crmhook.lane_entry and crmhook.lane_config; docs/fast-lane.md). It runs the site's own
 * prepend file first, if it has one (a firewall such as Wordfence's), then lets CrmHook_Lane
 * accept the webhook without loading WordPress. Whatever the lane does not take goes on to
 * WordPress, as if this file were not there.
 *
 * Runs in the global scope, as any prepend file: its few names are prefixed and removed.
 *
 * @package crmhook
 */

declare(strict_types=1);

if ( ! function_exists( 'crmhook_lane_status' ) ) {
	return; // Not the extension's doing (someone set auto_prepend_file to this file by hand).
}

$crmhook_lane_status = crmhook_lane_status();
if ( null !== $crmhook_lane_status['prepend'] && $crmhook_lane_status['this_request'] ) {
	require $crmhook_lane_status['prepend'];
}

if ( ! defined( 'CRMHOOK_LANE' ) ) {
	define( 'CRMHOOK_LANE', true );
}
require_once __DIR__ . '/includes/class-crmhook-sql.php';
require_once __DIR__ . '/includes/class-crmhook-lane.php';
$crmhook_lane_config = (string) $crmhook_lane_status['config'];
unset( $crmhook_lane_status );
CrmHook_Lane::handle( $crmhook_lane_config );
unset( $crmhook_lane_config );
