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

	/**
	 * The CRM table as the extension last gave it (raw, untranslated): what the settings screen and
	 * uninstall fall back to while the extension is not loaded. Written on activation.
	 */
	const CRMS_OPTION = 'crmhook_crms';

	/**
	 * The CRMs, slug => row, from the extension (crmhook_crms()): the one place that knows each
	 * CRM's names, meta slug, credentials, API URL, tag storage, rate limit. Labels are translated.
	 * Without the extension, the table saved on the last activation with it (or none).
	 *
	 * @return array<string, array{slug: string, name: string, label: string, meta_slug: string,
	 *   default_api_url: ?string, api_url_example: string,
	 *   credentials: array<string, array{label: string, secret: bool, required: bool}>,
	 *   tags_as: string, automation_rules: bool, contact_id_pair: ?string, rate_limit: float,
	 *   wordpress: bool}>
	 */
	public static function crms(): array {
		// Read once per request; translated on every call, as the textdomain loads only on `init`.
		static $raw = null;
		if ( null === $raw ) {
			$raw = function_exists( 'crmhook_crms' ) ? crmhook_crms() : get_option( self::CRMS_OPTION, array() );
			$raw = is_array( $raw ) ? $raw : array();
		}
		$table = $raw;
		foreach ( $table as $slug => $crm ) {
			foreach ( (array) ( $crm['credentials'] ?? array() ) as $key => $credential ) {
				$table[ $slug ]['credentials'][ $key ]['label'] = self::translate( (string) $credential['label'] );
			}
		}
		return $table;
	}

	/**
	 * The CRMs' names as the settings screen lists them, slug => label.
	 *
	 * @return array<string, string>
	 */
	public static function crm_names(): array {
		return array_map( static fn( array $crm ): string => (string) $crm['label'], self::crms() );
	}

	/**
	 * Keeps the extension's CRM table for the times it is not loaded (activation).
	 */
	public static function remember_crms(): void {
		if ( function_exists( 'crmhook_crms' ) ) {
			update_option( self::CRMS_OPTION, crmhook_crms(), false );
		}
	}

	/**
	 * The username formats of new users, slug => label, description and example, from the
	 * extension (crmhook_username_formats()); none without it.
	 *
	 * @return array<string, array{label: string, description: string, example: string}>
	 */
	public static function username_formats(): array {
		if ( ! function_exists( 'crmhook_username_formats' ) ) {
			return array();
		}
		$formats = crmhook_username_formats();
		foreach ( $formats as $slug => $format ) {
			$formats[ $slug ]['label']       = self::translate( (string) $format['label'] );
			$formats[ $slug ]['description'] = self::translate( (string) $format['description'] );
		}
		return $formats;
	}

	/**
	 * Text from the extension's tables in the site's language. Those strings are written once, in
	 * the extension, and scripts/make-pot.sh copies them into languages/crmhook.pot, so they are
	 * translated like the plugin's own; only the lookup has to take a variable.
	 */
	private static function translate( string $text ): string {
		// phpcs:ignore WordPress.WP.I18n.LowLevelTranslationFunction -- the strings are in crmhook.pot (see above).
		return translate( $text, 'crmhook' );
	}

	/**
	 * True when the site registers this CRM's automation rules itself (ConvertKit, Kit): it then
	 * also takes the update tag off a subscriber after an `update`.
	 */
	public static function has_automation_rules( string $crm ): bool {
		return ! empty( self::crms()[ $crm ]['automation_rules'] );
	}

	/**
	 * Every credential setting any CRM takes (api_url, api_key, …), key => whether it is secret.
	 *
	 * @return array<string, bool>
	 */
	public static function credential_keys(): array {
		$keys = array();
		foreach ( self::crms() as $crm ) {
			foreach ( $crm['credentials'] as $key => $credential ) {
				$keys[ $key ] = ! empty( $keys[ $key ] ) || ! empty( $credential['secret'] );
			}
		}
		return $keys;
	}

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
		return self::crms()[ $crm ]['meta_slug'] ?? $crm;
	}

	/**
	 * The `$crm` array the extension's CRM functions take: the CRM and every credential setting.
	 *
	 * @param array<string, mixed>|null $s Settings (default: the saved ones).
	 * @return array<string, string>
	 */
	public static function crm_config( ?array $s = null ): array {
		$s      = $s ?? self::all();
		$config = array( 'crm' => (string) $s['crm'] );
		foreach ( array_keys( self::credential_keys() ) as $key ) {
			$config[ $key ] = (string) ( $s[ $key ] ?? '' );
		}
		return $config;
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
		 * (the extension's crmhook_privileged_capabilities(): manage_options, edit_users and the
		 * like). Add a shop manager's or a membership plugin's own administrative capability here. The built-in ones cannot be
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
