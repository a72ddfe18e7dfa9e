<?php
/**
 * The plugin's settings: one option, read through typed accessors.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Reads and writes the `crmhook_settings` option.
 *
 * @phpstan-type Settings array{
 *   access_key: string, crm: string, api_url: string, api_key: string, api_secret: string,
 *   username: string, password: string, field_map: array<string, string>,
 *   username_format: string, allowed_roles: list<string>, return_password_field: string,
 *   send_welcome_email: bool, update_existing_passwords: bool, async: bool, queue_mode: string, queue_max_attempts: int, queue_backoff: int, queue_runners: int, fast_lane: bool, ck_update_tag: string, ck_import_tag: string,
 *   ck_update_rule: string, ck_import_rule: string, ck_unsubscribe_notify: bool, ck_unsubscribe_email: string,
 *   ck_unsubscribe_remove_role: string, ck_unsubscribe_clear_tags: bool, ck_unsubscribe_rule: string, delete_data_on_uninstall: bool,
 *   delete_shared_meta_on_uninstall: bool
 * }
 */
final class CrmHook_Settings {

	const OPTION = 'crmhook_settings';

	/** The CRMs, slug => name. */
	const CRMS = array(
		'activecampaign' => 'ActiveCampaign',
		'convertkit'     => 'ConvertKit',
		'kit'            => 'Kit',
		'fluentcrm'      => 'FluentCRM',
		'funnelkit'      => 'FunnelKit',
		'keap'           => 'Infusionsoft / Keap',
	);

	/**
	 * Meta key prefixes, as the incumbent plugin names them, so links and tag-based
	 * integrations keep working for sites that move over.
	 */
	const META_SLUGS = array(
		'activecampaign' => 'activecampaign',
		'convertkit'     => 'convertkit',
		'kit'            => 'kit',
		'fluentcrm'      => 'fluentcrm-rest',
		'funnelkit'      => 'autonami',
		'keap'           => 'infusionsoft',
	);

	/**
	 * Defaults for every setting.
	 *
	 * @return Settings
	 */
	public static function defaults(): array {
		return array(
			'access_key'                      => '',
			'crm'                             => 'activecampaign',
			'api_url'                         => '',
			'api_key'                         => '',
			'api_secret'                      => '',
			'username'                        => '',
			'password'                        => '',
			'field_map'                       => array(),
			'username_format'                 => 'email',
			'allowed_roles'                   => array(),
			'return_password_field'           => '',
			'send_welcome_email'              => false,
			'update_existing_passwords'       => false,
			'async'                           => false,
			'queue_mode'                      => 'auto',
			'queue_max_attempts'              => 8,
			'queue_backoff'                   => 5,
			'queue_runners'                   => 3,
			'fast_lane'                       => false,
			'ck_update_tag'                   => '',
			'ck_import_tag'                   => '',
			'ck_update_rule'                  => '',
			'ck_import_rule'                  => '',
			'ck_unsubscribe_notify'           => false,
			'ck_unsubscribe_email'            => '',
			'ck_unsubscribe_remove_role'      => '',
			'ck_unsubscribe_clear_tags'       => false,
			'ck_unsubscribe_rule'             => '',
			'delete_data_on_uninstall'        => false,
			'delete_shared_meta_on_uninstall' => false,
		);
	}

	/**
	 * All settings, defaults filled in.
	 *
	 * @return Settings
	 */
	public static function all(): array {
		$stored = get_option( self::OPTION, array() );
		return array_merge( self::defaults(), is_array( $stored ) ? $stored : array() );
	}

	/**
	 * One setting.
	 *
	 * @param string $key Setting name.
	 * @return mixed
	 */
	public static function get( string $key ) {
		return self::all()[ $key ] ?? null;
	}

	/**
	 * Saves some settings, keeping the others.
	 *
	 * @param array<string, mixed> $values New values.
	 */
	public static function update( array $values ): void {
		// Autoloaded: every webhook reads it, and it is small.
		update_option( self::OPTION, array_merge( self::all(), $values ), true );
	}

	/**
	 * Makes sure there is an access key: a site is never left open with an empty one.
	 */
	public static function ensure_access_key(): void {
		if ( '' === (string) self::get( 'access_key' ) && CrmHook_Plugin::extension_loaded() ) {
			self::update( array( 'access_key' => crmhook_generate_access_key() ) );
		}
	}

	/**
	 * The `{crm}_` meta prefix of the configured CRM.
	 */
	public static function meta_slug( ?string $crm = null ): string {
		$crm = $crm ?? (string) self::get( 'crm' );
		return self::META_SLUGS[ $crm ] ?? $crm;
	}

	/**
	 * The `$crm` array the extension's CRM functions take.
	 *
	 * @return array{crm: string, api_url: string, api_key: string, api_secret: string, username: string, password: string}
	 */
	public static function crm_config(): array {
		$s = self::all();
		return array(
			'crm'        => $s['crm'],
			'api_url'    => $s['api_url'],
			'api_key'    => $s['api_key'],
			'api_secret' => $s['api_secret'],
			'username'   => $s['username'],
			'password'   => $s['password'],
		);
	}

	/**
	 * The `$options` array of crmhook_map_contact().
	 *
	 * @param string|null $requested_role The role the webhook asked for.
	 * @return array<string, mixed>
	 */
	public static function plan_options( ?string $requested_role ): array {
		$s     = self::all();
		$roles = array();
		foreach ( wp_roles()->roles as $slug => $role ) {
			$roles[ $slug ] = $role['capabilities'] ?? array();
		}
		$default_role = (string) get_option( 'default_role', 'subscriber' );
		$allowed      = $s['allowed_roles'] ? $s['allowed_roles'] : array( $default_role );
		return array(
			'field_map'                 => $s['field_map'],
			'username_format'           => $s['username_format'],
			'default_role'              => $default_role,
			'allowed_roles'             => array_values( $allowed ),
			'requested_role'            => $requested_role,
			'return_password_field'     => $s['return_password_field'],
			'roles'                     => $roles,
			'privileged_capabilities'   => self::privileged_capabilities(),
			'update_existing_passwords' => (bool) $s['update_existing_passwords'],
		);
	}

	/**
	 * The capabilities that make a user privileged: the extension's list plus what the site
	 * adds. A webhook never changes a user who holds one, nor grants a role that carries one.
	 *
	 * @return list<string>
	 */
	public static function privileged_capabilities(): array {
		$built_in = crmhook_privileged_capabilities();
		/**
		 * Capabilities that make a user untouchable by CRM webhooks, beyond the built-in ones
		 * (manage_options, edit_users, promote_users, create_users, delete_users, edit_plugins,
		 * install_plugins, activate_plugins, unfiltered_html). Add a shop manager's or a
		 * membership plugin's own administrative capability here. The built-in ones cannot be
		 * removed: what this filter returns is added to them.
		 *
		 * @param list<string> $capabilities The built-in list.
		 */
		$extra = apply_filters( 'crmhook_privileged_capabilities', $built_in );
		return array_values( array_unique( array_merge( $built_in, array_map( 'strval', (array) $extra ) ) ) );
	}

	/**
	 * True when a webhook must leave this user alone: a super admin, or anyone holding a
	 * privileged capability through a role or directly.
	 */
	public static function is_privileged( \WP_User $user ): bool {
		if ( is_multisite() && is_super_admin( $user->ID ) ) {
			return true;
		}
		foreach ( self::privileged_capabilities() as $capability ) {
			if ( $user->has_cap( $capability ) ) {
				return true;
			}
		}
		return false;
	}
}
