<?php
/**
 * Users → All Users: a "CRM tags" column and a filter by tag.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The users list shows each user's CRM tags (by name, also for CRMs that store ids) and can be
 * narrowed to the users who carry one tag.
 *
 * The filter reads the `{crm}_tags` meta, which holds a serialized PHP array of strings
 * (`a:2:{i:0;s:3:"VIP";i:1;s:1:"7";}`), so that sites moving from WP Fusion, and plugins that read
 * the same meta, keep working. A tag is matched as the whole serialized element `s:N:"tag";`, N being
 * its length in bytes: tag `1` never matches `11` or `21`, `VIP` never matches `VIP Gold`. That is one
 * LIKE on the meta rows of one key, inside WordPress's own user query, so sorting, paging and counts
 * stay WordPress's. What it cannot rule out is a tag whose *name* contains another tag's whole
 * serialized element (`"` and `;` included); no CRM names tags so, and the column always shows the
 * user's real tags. A separate table of (user, tag) rows would be exact but would have to follow every
 * writer of the meta, WP Fusion's included.
 */
final class CrmHook_Users {

	/** The column's key in the users list. */
	const COLUMN = 'crmhook_tags';

	/** The query argument of the tag filter. */
	const FILTER = 'crmhook_tag';

	/** How long the CRM's tag names are kept (a failed load is retried sooner). */
	const NAMES_TTL = HOUR_IN_SECONDS;

	/** @var array<string, array<string, string>> Tag names loaded in this request, per CRM. */
	private static array $names = array();

	/**
	 * Registers the users-list hooks (admin only).
	 */
	public static function register(): void {
		add_filter( 'manage_users_columns', array( __CLASS__, 'columns' ) );
		add_filter( 'manage_users_custom_column', array( __CLASS__, 'column' ), 10, 3 );
		add_action( 'restrict_manage_users', array( __CLASS__, 'filter_form' ) );
		add_action( 'pre_get_users', array( __CLASS__, 'filter_query' ) );
	}

	/**
	 * Adds the column.
	 *
	 * @param array<string, string> $columns The list's columns.
	 * @return array<string, string>
	 */
	public static function columns( array $columns ): array {
		$columns[ self::COLUMN ] = __( 'CRM tags', 'crmhook' );
		return $columns;
	}

	/**
	 * The column's cell: the user's tags, by name where the CRM has one for the id.
	 *
	 * @param string $output  What other plugins printed.
	 * @param string $column  The column.
	 * @param int    $user_id The row's user.
	 */
	public static function column( $output, $column, $user_id ): string {
		if ( self::COLUMN !== $column ) {
			return (string) $output;
		}
		$tags = self::user_tags( (int) $user_id );
		if ( ! $tags ) {
			return '<span class="crmhook-tags crmhook-tags-none" aria-hidden="true">—</span>';
		}
		$names = self::tag_names();
		$items = array();
		foreach ( $tags as $tag ) {
			$items[] = sprintf( '<span class="crmhook-tag" data-tag="%1$s">%2$s</span>', esc_attr( $tag ), esc_html( $names[ $tag ] ?? $tag ) );
		}
		return '<span class="crmhook-tags">' . implode( ', ', $items ) . '</span>';
	}

	/**
	 * The dropdown above the list (top only: one form, one selected tag).
	 *
	 * @param string $which `top` or `bottom`.
	 */
	public static function filter_form( $which = 'top' ): void {
		if ( 'top' !== $which ) {
			return;
		}
		$selected = self::selected_tag();
		$choices  = self::tag_choices();
		if ( '' !== $selected && ! isset( $choices[ $selected ] ) ) {
			$choices[ $selected ] = $selected;
		}
		echo '<div class="alignleft actions crmhook-tag-filter">';
		printf( '<label class="screen-reader-text" for="crmhook-tag-filter">%s</label>', esc_html__( 'Filter by CRM tag', 'crmhook' ) );
		printf( '<select name="%1$s" id="crmhook-tag-filter"><option value="">%2$s</option>', esc_attr( self::FILTER ), esc_html__( 'All CRM tags', 'crmhook' ) );
		foreach ( $choices as $value => $label ) {
			printf( '<option value="%1$s"%2$s>%3$s</option>', esc_attr( (string) $value ), selected( $selected, (string) $value, false ), esc_html( (string) $label ) );
		}
		echo '</select>';
		submit_button( __( 'Filter', 'crmhook' ), '', 'crmhook_filter', false, array( 'id' => 'crmhook-tag-filter-submit' ) );
		echo '</div>';
	}

	/**
	 * Narrows the users list to the users who carry the chosen tag.
	 *
	 * @param \WP_User_Query $query The query being prepared.
	 */
	public static function filter_query( $query ): void {
		if ( ! is_admin() || ! function_exists( 'get_current_screen' ) ) {
			return;
		}
		$screen = get_current_screen();
		if ( ! $screen || 'users' !== $screen->id ) {
			return;
		}
		$tag = self::selected_tag();
		if ( '' !== $tag ) {
			self::restrict( $query, $tag );
		}
	}

	/**
	 * Adds the tag condition to a user query (the list's, or any other).
	 *
	 * @param \WP_User_Query $query The query.
	 * @param string         $tag   A tag as stored (a name for ActiveCampaign, an id elsewhere).
	 */
	public static function restrict( \WP_User_Query $query, string $tag ): void {
		$meta_query = $query->get( 'meta_query' );
		$meta_query = is_array( $meta_query ) ? $meta_query : array();
		// WP_Meta_Query escapes LIKE's wildcards in the value and wraps it in %…%.
		$meta_query[] = array(
			'key'     => self::tags_key(),
			'value'   => self::serialized_element( $tag ),
			'compare' => 'LIKE',
		);
		$query->set( 'meta_query', $meta_query );
	}

	/**
	 * The serialized form of one string element of a list: `s:3:"VIP";`.
	 */
	public static function serialized_element( string $tag ): string {
		return 's:' . strlen( $tag ) . ':"' . $tag . '";';
	}

	/**
	 * The user's tags for the site's CRM.
	 *
	 * @return list<string>
	 */
	public static function user_tags( int $user_id ): array {
		$tags = get_user_meta( $user_id, self::tags_key(), true );
		return is_array( $tags ) ? array_values( array_map( 'strval', $tags ) ) : array();
	}

	/**
	 * The `{crm}_tags` meta key of the site's CRM.
	 */
	public static function tags_key(): string {
		return CrmHook_Settings::meta_slug() . '_tags';
	}

	/**
	 * Tag id → name, for the CRMs that store ids; a CRM whose tags are stored by name (the
	 * extension's table: ActiveCampaign) has nothing to look up.
	 *
	 * @return array<string, string>
	 */
	public static function tag_names(): array {
		return self::tags_are_names() ? array() : self::crm_tags();
	}

	/**
	 * True when the site's CRM stores tags by name rather than id (the extension's CRM table).
	 */
	private static function tags_are_names(): bool {
		return 'names' === ( CrmHook_Settings::crms()[ (string) CrmHook_Settings::get( 'crm' ) ]['tags_as'] ?? 'ids' );
	}

	/**
	 * The CRM's tags, id → name. Cached in a transient, and a CRM that cannot answer costs one try
	 * per few minutes, not one per page load: the users list never waits on it for long.
	 *
	 * @return array<string, string>
	 */
	private static function crm_tags(): array {
		$crm = (string) CrmHook_Settings::get( 'crm' );
		if ( ! CrmHook_Plugin::extension_loaded() ) {
			return array();
		}
		if ( isset( self::$names[ $crm ] ) ) {
			return self::$names[ $crm ];
		}
		$cache = self::names_cache_key();
		$names = get_transient( $cache );
		if ( ! is_array( $names ) ) {
			try {
				$names = array();
				foreach ( crmhook_list_tags( CrmHook_Settings::crm_config() ) as $id => $name ) {
					$names[ (string) $id ] = (string) $name;
				}
				set_transient( $cache, $names, self::NAMES_TTL );
			} catch ( \Throwable $e ) {
				$names = array();
				set_transient( $cache, $names, 5 * MINUTE_IN_SECONDS );
			}
		}
		self::$names[ $crm ] = $names;
		return $names;
	}

	/**
	 * Forgets the cached tag names (a new connection, *Test connection*).
	 */
	public static function forget_tag_names(): void {
		self::$names = array();
		delete_transient( self::names_cache_key() );
	}

	/**
	 * The transient of the site's CRM account (no credential goes into its name).
	 */
	private static function names_cache_key(): string {
		$s = CrmHook_Settings::all();
		return 'crmhook_tag_names_' . md5( $s['crm'] . '|' . $s['api_url'] );
	}

	/**
	 * The dropdown's tags, value as stored → label, sorted by label.
	 *
	 * @return array<string, string>
	 */
	public static function tag_choices(): array {
		$tags = self::crm_tags();
		if ( self::tags_are_names() ) {
			// Tags stored by name (ActiveCampaign): the names are the values.
			$tags = array_combine( array_values( $tags ), array_values( $tags ) );
		}
		natcasesort( $tags );
		return $tags;
	}

	/**
	 * The tag chosen in the filter, as sent.
	 */
	public static function selected_tag(): string {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a read-only list filter.
		$tag = isset( $_GET[ self::FILTER ] ) ? wp_unslash( (string) $_GET[ self::FILTER ] ) : '';
		// Tags are text from the CRM: kept as they are (they must match the stored bytes), minus
		// control characters and surrounding space.
		return trim( (string) preg_replace( '/[\x00-\x1F\x7F]/', '', $tag ) );
	}
}
