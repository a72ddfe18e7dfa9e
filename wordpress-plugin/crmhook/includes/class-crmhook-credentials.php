<?php
/**
 * A CRM's credentials on the settings form: which fields each CRM uses, and when a saved secret
 * may be used again.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The rules for credentials, on save and on *Test connection*.
 *
 * A saved secret (API key, API secret, application password) belongs to one CRM at one API URL.
 * It is used again only while both stay the same: sent to another CRM or to a newly typed URL, it
 * would reach a party it was never meant for. So switching CRM (or changing the API URL) and
 * saving clears what was not typed again, and *Test connection* only falls back to a saved
 * secret for the saved CRM at the saved URL. Credentials are not kept per CRM: a secret that is
 * not in use is not kept at all.
 */
final class CrmHook_Credentials {

	/**
	 * Credentials never printed back into the page (an empty field keeps the saved value): the
	 * ones the extension's CRM table marks secret.
	 *
	 * @return list<string>
	 */
	public static function secrets(): array {
		return array_keys( array_filter( CrmHook_Settings::credential_keys() ) );
	}

	/**
	 * The fields a CRM uses besides `api_url` (which every CRM has), from the extension's table.
	 *
	 * @return list<string>
	 */
	public static function fields( string $crm ): array {
		return array_values( array_diff( array_keys( CrmHook_Settings::crms()[ $crm ]['credentials'] ?? array() ), array( 'api_url' ) ) );
	}

	/**
	 * The public API host of a CRM that has one (an empty API URL means this one), else null.
	 */
	public static function default_api_url( string $crm ): ?string {
		return CrmHook_Settings::crms()[ $crm ]['default_api_url'] ?? null;
	}

	/**
	 * True when `$crm` uses the credential field `$key`.
	 */
	public static function uses( string $crm, string $key ): bool {
		return 'api_url' === $key || in_array( $key, self::fields( $crm ), true );
	}

	/**
	 * The CRMs that use a field, for the form rows (all of them for `api_url`).
	 *
	 * @return list<string>
	 */
	public static function crms_using( string $key ): array {
		return array_values( array_filter( array_keys( CrmHook_Settings::crms() ), static fn( string $crm ): bool => self::uses( $crm, $key ) ) );
	}

	/**
	 * Each CRM's own label for a credential field (translated), for the CRMs that use it.
	 *
	 * @return array<string, string> CRM slug => label.
	 */
	public static function labels( string $key ): array {
		$labels = array();
		foreach ( CrmHook_Settings::crms() as $slug => $crm ) {
			if ( isset( $crm['credentials'][ $key ]['label'] ) ) {
				$labels[ $slug ] = (string) $crm['credentials'][ $key ]['label'];
			}
		}
		return $labels;
	}

	/**
	 * What the API URL field shows when empty: the public API a CRM defaults to, or an example.
	 */
	public static function placeholder( string $crm ): string {
		return (string) ( CrmHook_Settings::crms()[ $crm ]['api_url_example'] ?? 'https://' );
	}

	/**
	 * The help under the API URL field, for one CRM.
	 */
	public static function api_url_help( string $crm ): string {
		$name = CrmHook_Settings::crm_names()[ $crm ] ?? $crm;
		if ( 'activecampaign' === $crm ) {
			return __( 'Your account\'s API URL, under Settings → Developer in ActiveCampaign.', 'crmhook' );
		}
		if ( null !== self::default_api_url( $crm ) ) {
			/* translators: %s: CRM name */
			return sprintf( __( 'Leave empty for %s\'s public API.', 'crmhook' ), $name );
		}
		/* translators: %s: CRM name */
		return sprintf( __( 'The address of the WordPress site that runs %s (with its subfolder, if any).', 'crmhook' ), $name );
	}

	/**
	 * The same URL for the purpose of "is this where the saved secret was meant to go": the
	 * extension ignores a trailing slash, and an empty URL is the CRM's public API.
	 */
	private static function same_url( string $crm, string $a, string $b ): bool {
		$norm = static function ( string $url ) use ( $crm ): string {
			$url = rtrim( trim( $url ), '/' );
			return '' === $url ? rtrim( (string) self::default_api_url( $crm ), '/' ) : $url;
		};
		return $norm( $a ) === $norm( $b );
	}

	/**
	 * The credentials to save from the settings form.
	 *
	 * - Only the fields the chosen CRM uses are kept; the others are emptied.
	 * - A secret field left empty keeps the saved secret only when the CRM and the API URL are
	 *   the ones it was saved for; otherwise it is cleared, and a notice says so.
	 * - When the CRM changed, an API URL or username still equal to the old CRM's (a page
	 *   without JavaScript shows them pre-filled) belonged to that CRM and is cleared too.
	 *
	 * @param array<string, mixed> $input   The submitted form (raw).
	 * @param array<string, mixed> $old     The saved settings.
	 * @param string               $crm     The CRM being saved (already checked).
	 * @param string               $api_url The API URL being saved (already checked).
	 * @return array{values: array<string, string>, notices: list<string>}
	 */
	public static function for_save( array $input, array $old, string $crm, string $api_url ): array {
		$same_crm = (string) $old['crm'] === $crm;
		$name     = CrmHook_Settings::crm_names()[ $crm ] ?? $crm;
		$old_name = CrmHook_Settings::crm_names()[ (string) $old['crm'] ] ?? (string) $old['crm'];
		$notices  = array();

		if ( ! $same_crm && '' !== $api_url && self::same_url( $crm, $api_url, (string) $old['api_url'] ) ) {
			$api_url   = '';
			$notices[] = sprintf(
				/* translators: 1: the CRM saved before, 2: the CRM being saved */
				__( 'The API URL of %1$s was not kept for %2$s. Enter %2$s\'s API URL if it needs one.', 'crmhook' ),
				$old_name,
				$name
			);
		}
		$same_place = $same_crm && self::same_url( $crm, $api_url, (string) $old['api_url'] );

		$values = array( 'api_url' => $api_url );
		foreach ( array_diff( array_keys( CrmHook_Settings::credential_keys() ), array( 'api_url' ) ) as $key ) {
			$typed = trim( (string) ( $input[ $key ] ?? '' ) );
			if ( 'username' === $key ) {
				$typed = sanitize_text_field( $typed );
			}
			if ( ! self::uses( $crm, $key ) ) {
				$values[ $key ] = '';
				continue;
			}
			if ( 'username' === $key ) {
				$values[ $key ] = ! $same_crm && $typed === (string) $old['username'] ? '' : $typed;
				continue;
			}
			$saved = (string) ( $old[ $key ] ?? '' );
			if ( '' !== $typed ) {
				$values[ $key ] = $typed;
			} elseif ( $same_place ) {
				$values[ $key ] = $saved;
			} else {
				$values[ $key ] = '';
			}
		}

		// What was saved and is now gone (leftovers a CRM never used go without a word).
		$dropped = array_filter(
			self::secrets(),
			static fn( string $key ): bool => '' !== (string) ( $old[ $key ] ?? '' ) && '' === $values[ $key ] && ( ! $same_crm || self::uses( $crm, $key ) )
		);
		if ( $dropped && ! $same_crm ) {
			$notices[] = sprintf(
				/* translators: 1: the CRM saved before, 2: the CRM being saved */
				__( 'The credentials saved for %1$s were cleared: they are never sent to %2$s.', 'crmhook' ),
				$old_name,
				$name
			);
		} elseif ( $dropped ) {
			$notices[] = __( 'The saved secret was cleared because the API URL changed: type it again for the new URL.', 'crmhook' );
		}
		return array( 'values' => $values, 'notices' => $notices );
	}

	/**
	 * The `$crm` array for *Test connection*, from the values typed on the form (never saved).
	 * An empty secret field stands for the saved secret only when the CRM and the API URL are
	 * the saved ones. Answers an error message instead when the values cannot work.
	 *
	 * @param array<string, mixed> $input The values the page sent (raw).
	 * @param array<string, mixed> $saved The saved settings.
	 * @return array{crm: string, api_url: string, username: string, api_key: string, api_secret: string, password: string}|string
	 */
	public static function for_test( array $input, array $saved ) {
		$crm = sanitize_key( (string) ( $input['crm'] ?? '' ) );
		if ( ! isset( CrmHook_Settings::crm_names()[ $crm ] ) ) {
			return __( 'Choose a CRM first.', 'crmhook' );
		}
		$name    = CrmHook_Settings::crm_names()[ $crm ];
		$api_url = trim( (string) ( $input['api_url'] ?? '' ) );
		if ( '' !== $api_url ) {
			$clean = esc_url_raw( $api_url, array( 'https', 'http' ) );
			if ( '' === $clean ) {
				/* translators: %s: CRM name */
				return sprintf( __( 'The API URL of %s is not a web address.', 'crmhook' ), $name );
			}
			try {
				crmhook_check_api_url( $clean );
			} catch ( \ValueError $e ) {
				return $e->getMessage();
			}
			$api_url = $clean;
		} elseif ( null === self::default_api_url( $crm ) ) {
			/* translators: %s: CRM name */
			return sprintf( __( '%s needs an API URL.', 'crmhook' ), $name );
		}

		$same_place = (string) $saved['crm'] === $crm && self::same_url( $crm, $api_url, (string) $saved['api_url'] );
		$config     = array(
			'crm'        => $crm,
			'api_url'    => $api_url,
			'api_key'    => '',
			'api_secret' => '',
			'username'   => '',
			'password'   => '',
		);
		$labels     = array(
			'api_key'    => __( 'API key', 'crmhook' ),
			'api_secret' => __( 'API secret', 'crmhook' ),
			'password'   => __( 'application password', 'crmhook' ),
		);
		foreach ( self::fields( $crm ) as $key ) {
			$typed = trim( (string) ( $input[ $key ] ?? '' ) );
			if ( 'username' === $key ) {
				$typed = sanitize_text_field( $typed );
			} elseif ( '' === $typed && $same_place ) {
				$typed = (string) $saved[ $key ];
			}
			if ( '' === $typed && 'username' === $key ) {
				/* translators: %s: CRM name */
				return sprintf( __( '%s needs the username of a user of that site.', 'crmhook' ), $name );
			}
			if ( '' === $typed ) {
				/* translators: 1: CRM name, 2: what is missing (API key, application password…) */
				return sprintf( __( '%1$s needs its %2$s: type it (a saved one is used only for the saved CRM and API URL).', 'crmhook' ), $name, $labels[ $key ] );
			}
			$config[ $key ] = $typed;
		}
		return $config;
	}
}
