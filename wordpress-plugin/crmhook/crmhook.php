<?php
/**
 * Plugin Name:       crmhook — CRM Webhooks
 * Plugin URI:        https://github.com/crmhook/crmhook
 * Description:       Lets ActiveCampaign, ConvertKit/Kit, FluentCRM, FunnelKit and Keap create and update WordPress users and their tags by calling your site's URL. Compatible with existing <code>?wpf_action=…&amp;access_key=…</code> webhook URLs. Needs the crmhook PHP extension.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * Author:            crmhook
 * License:           GPL-2.0-or-later
 * Text Domain:       crmhook
 * Domain Path:       /languages
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

define( 'CRMHOOK_VERSION', '0.1.0' );
define( 'CRMHOOK_FILE', __FILE__ );
define( 'CRMHOOK_DIR', __DIR__ );

require_once __DIR__ . '/includes/class-crmhook-sql.php';
require_once __DIR__ . '/includes/class-crmhook-settings.php';
require_once __DIR__ . '/includes/class-crmhook-contacts.php';
require_once __DIR__ . '/includes/class-crmhook-lock.php';
require_once __DIR__ . '/includes/class-crmhook-throttle.php';
require_once __DIR__ . '/includes/class-crmhook-log.php';
require_once __DIR__ . '/includes/class-crmhook-sync.php';
require_once __DIR__ . '/includes/class-crmhook-unsubscribe.php';
require_once __DIR__ . '/includes/class-crmhook-users.php';
require_once __DIR__ . '/includes/class-crmhook-profile.php';
require_once __DIR__ . '/includes/class-crmhook-queue.php';
require_once __DIR__ . '/includes/class-crmhook-runner.php';
require_once __DIR__ . '/includes/class-crmhook-import.php';
require_once __DIR__ . '/includes/class-crmhook-import-admin.php';
require_once __DIR__ . '/includes/class-crmhook-endpoint.php';
require_once __DIR__ . '/includes/class-crmhook-credentials.php';
require_once __DIR__ . '/includes/class-crmhook-connection.php';
require_once __DIR__ . '/includes/class-crmhook-lane.php';
require_once __DIR__ . '/includes/class-crmhook-lane-config.php';
require_once __DIR__ . '/includes/class-crmhook-admin.php';
require_once __DIR__ . '/includes/class-crmhook-log-screen.php';
require_once __DIR__ . '/includes/class-crmhook-plugin.php';

register_activation_hook( __FILE__, array( 'CrmHook_Plugin', 'on_activation' ) );
register_deactivation_hook( __FILE__, array( 'CrmHook_Plugin', 'deactivate' ) );

CrmHook_Plugin::boot();
