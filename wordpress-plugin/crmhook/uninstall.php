<?php
/**
 * Deleting the plugin removes its data only when the owner asked for that in the settings.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

$crmhook_settings = get_option( 'crmhook_settings', array() );
if ( empty( $crmhook_settings['delete_data_on_uninstall'] ) ) {
	return;
}

require_once __DIR__ . '/includes/class-crmhook-sql.php';
require_once __DIR__ . '/includes/class-crmhook-settings.php';
require_once __DIR__ . '/includes/class-crmhook-contacts.php';
require_once __DIR__ . '/includes/class-crmhook-throttle.php';
require_once __DIR__ . '/includes/class-crmhook-queue.php';
require_once __DIR__ . '/includes/class-crmhook-log.php';
require_once __DIR__ . '/includes/class-crmhook-import.php';

global $wpdb;
if ( ! empty( $crmhook_settings['delete_shared_meta_on_uninstall'] ) ) {
	// The links and tags, under the names WP Fusion uses too: only when the owner said so.
	// The extension's CRM table, or the copy the last activation kept should it be gone by now.
	foreach ( CrmHook_Settings::crms() as $crmhook_crm ) {
		$crmhook_slug = $crmhook_crm['meta_slug'];
		$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->usermeta} WHERE meta_key IN (%s, %s)", $crmhook_slug . '_contact_id', $crmhook_slug . '_tags' ) );
	}
}
delete_metadata( 'user', 0, CrmHook_Contacts::CREATED_FROM_META, '', true );
// CrmHook_Profile::LAST_SYNC_META: when and how each user was last synced.
delete_metadata( 'user', 0, 'crmhook_last_sync', '', true );
CrmHook_Contacts::drop();
CrmHook_Throttle::drop();
CrmHook_Queue::drop();
CrmHook_Log::drop();
CrmHook_Import::drop();
delete_option( 'crmhook_settings' );
delete_option( CrmHook_Settings::CRMS_OPTION );
delete_option( 'crmhook_activity' );
delete_option( 'crmhook_db_version' );
