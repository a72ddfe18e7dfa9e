<?php
/**
 * The contact index: CRM contact ↔ WordPress user, one row per link.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Table `{prefix}crmhook_contacts`: a lookup by contact is a primary-key seek, not a scan of
 * `wp_usermeta` values, and the primary key is the last line of defence against a contact
 * linked twice.
 */
final class CrmHook_Contacts {

	/**
	 * User meta naming the contact (`{crm}:{contact id}`) the site created the user from: the
	 * CRM may set the password only of such users (unless the owner allows more).
	 */
	const CREATED_FROM_META = 'crmhook_created_from';

	/**
	 * The table name.
	 */
	public static function table(): string {
		global $wpdb;
		return $wpdb->prefix . 'crmhook_contacts';
	}

	/**
	 * Creates or updates the table.
	 */
	public static function install(): void {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table   = self::table();
		$charset = $wpdb->get_charset_collate();
		dbDelta(
			"CREATE TABLE {$table} (
  crm varchar(32) NOT NULL,
  contact_id varchar(64) NOT NULL,
  user_id bigint(20) unsigned NOT NULL,
  linked_at datetime NOT NULL,
  PRIMARY KEY  (crm,contact_id),
  KEY user_id (user_id)
) {$charset};"
		);
	}

	/**
	 * Links already stored as `{crm}_contact_id` user meta (by this plugin or by WP Fusion)
	 * become index rows. Existing rows win.
	 *
	 * @return int Rows added.
	 */
	public static function migrate_from_meta(): int {
		global $wpdb;
		$added = 0;
		foreach ( CrmHook_Settings::crms() as $crm => $row ) {
			$slug   = $row['meta_slug'];
			$added += (int) $wpdb->query(
				$wpdb->prepare(
					"INSERT IGNORE INTO " . self::table() . " (crm, contact_id, user_id, linked_at)
					 SELECT %s, LEFT(meta_value, 64), user_id, UTC_TIMESTAMP() FROM {$wpdb->usermeta}
					 WHERE meta_key = %s AND meta_value <> ''",
					$crm,
					$slug . '_contact_id'
				)
			);
		}
		return $added;
	}

	/**
	 * The user linked to a contact: one primary-key seek. Links of users deleted through
	 * WordPress are removed by the `deleted_user` hook; the caller loads the user anyway and
	 * treats a vanished one as no link.
	 */
	public static function user_for( string $crm, string $contact_id ): ?int {
		global $wpdb;
		$user_id = $wpdb->get_var(
			$wpdb->prepare( 'SELECT user_id FROM ' . self::table() . ' WHERE crm = %s AND contact_id = %s', $crm, $contact_id )
		);
		return null === $user_id ? null : (int) $user_id;
	}

	/**
	 * The contact linked to a user.
	 */
	public static function contact_for( string $crm, int $user_id ): ?string {
		global $wpdb;
		$id = $wpdb->get_var(
			$wpdb->prepare( 'SELECT contact_id FROM ' . self::table() . ' WHERE crm = %s AND user_id = %d LIMIT 1', $crm, $user_id )
		);
		return null === $id ? null : (string) $id;
	}

	/**
	 * Links a contact to a user (replacing an older link of that contact), and writes the
	 * `{crm}_contact_id` meta that tag-based integrations read. A user the contact leaves loses
	 * that meta, so integrations never see two users with one contact.
	 */
	public static function link( string $crm, string $contact_id, int $user_id ): void {
		global $wpdb;
		$before = self::user_for( $crm, $contact_id );
		if ( null !== $before && $before !== $user_id ) {
			self::forget_meta( $crm, $contact_id, $before );
		}
		$wpdb->query(
			$wpdb->prepare(
				'INSERT INTO ' . self::table() . ' (crm, contact_id, user_id, linked_at) VALUES (%s, %s, %d, UTC_TIMESTAMP())
				 ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), linked_at = VALUES(linked_at)',
				$crm,
				$contact_id,
				$user_id
			)
		);
		update_user_meta( $user_id, CrmHook_Settings::meta_slug( $crm ) . '_contact_id', $contact_id );
	}

	/**
	 * Removes a link, with the linked user's `{crm}_contact_id` meta.
	 */
	public static function unlink( string $crm, string $contact_id ): void {
		global $wpdb;
		$user_id = self::user_for( $crm, $contact_id );
		$wpdb->delete( self::table(), array( 'crm' => $crm, 'contact_id' => $contact_id ), array( '%s', '%s' ) );
		if ( null !== $user_id ) {
			self::forget_meta( $crm, $contact_id, $user_id );
		}
	}

	/**
	 * Deletes a user's `{crm}_contact_id` meta when it still names this contact.
	 */
	private static function forget_meta( string $crm, string $contact_id, int $user_id ): void {
		delete_user_meta( $user_id, CrmHook_Settings::meta_slug( $crm ) . '_contact_id', $contact_id );
	}

	/**
	 * Drops a deleted user's links.
	 */
	public static function forget_user( int $user_id ): void {
		global $wpdb;
		$wpdb->delete( self::table(), array( 'user_id' => $user_id ), array( '%d' ) );
	}

	/**
	 * Drops the table (uninstall).
	 */
	public static function drop(): void {
		global $wpdb;
		$wpdb->query( 'DROP TABLE IF EXISTS ' . self::table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange
	}
}
