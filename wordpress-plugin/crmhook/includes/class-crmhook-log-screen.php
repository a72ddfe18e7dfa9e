<?php
/**
 * Tools → CRM Webhooks log: the webhook log's screen, its "Run again" action and CSV export.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The screen (a WP_List_Table, CrmHook_Log_Table) and its two admin-post actions. Each needs
 * `manage_options` and a nonce.
 */
final class CrmHook_Log_Screen {

	const PAGE = 'crmhook-log';

	/** Rows a CSV export reads at a time. */
	const EXPORT_BATCH = 1000;

	/**
	 * Registers the admin hooks.
	 */
	public static function register(): void {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_post_crmhook_log_run_again', array( __CLASS__, 'run_again' ) );
		add_action( 'admin_post_crmhook_log_export', array( __CLASS__, 'export' ) );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'assets' ) );
	}

	/**
	 * Tools → CRM Webhooks log.
	 */
	public static function menu(): void {
		$hook = add_management_page( __( 'CRM Webhooks log', 'crmhook' ), __( 'CRM Webhooks log', 'crmhook' ), 'manage_options', self::PAGE, array( __CLASS__, 'render' ) );
		if ( $hook ) {
			add_action( 'load-' . $hook, array( __CLASS__, 'load' ) );
		}
	}

	/**
	 * The filters form is a GET form, and WP_List_Table puts its own nonce fields in it: they are
	 * taken out of the URL (as the posts list does), so the address bar keeps only the filters.
	 */
	public static function load(): void {
		// phpcs:ignore WordPress.Security.NonceVerification -- nothing is done with them but dropping them.
		if ( isset( $_GET['_wp_http_referer'] ) || isset( $_GET['_wpnonce'] ) ) {
			wp_safe_redirect( remove_query_arg( array( '_wp_http_referer', '_wpnonce', 'filter_action' ), wp_unslash( (string) ( $_SERVER['REQUEST_URI'] ?? '' ) ) ) );
			exit;
		}
	}

	/**
	 * The screen's URL, with query arguments.
	 *
	 * @param array<string, string|int> $args Query arguments.
	 */
	public static function url( array $args = array() ): string {
		return add_query_arg( array_merge( array( 'page' => self::PAGE ), $args ), admin_url( 'tools.php' ) );
	}

	/**
	 * The stylesheet, on this screen only (it marks failures).
	 */
	public static function assets( string $hook ): void {
		if ( 'tools_page_' . self::PAGE === $hook ) {
			wp_enqueue_style( 'crmhook-admin', plugins_url( 'assets/admin.css', CRMHOOK_FILE ), array(), CRMHOOK_VERSION );
		}
	}

	/**
	 * The filters of the current request (screen, export), sanitized.
	 *
	 * @return array{crm: string, action: string, outcome: string, from: string, to: string, search: string}
	 */
	public static function filters(): array {
		// phpcs:disable WordPress.Security.NonceVerification -- read-only filters of a list.
		$get  = static fn ( string $key ): string => isset( $_GET[ $key ] ) ? sanitize_text_field( wp_unslash( (string) $_GET[ $key ] ) ) : '';
		$date = static fn ( string $value ): string => preg_match( '/^\d{4}-\d{2}-\d{2}$/', $value ) ? $value : '';
		// phpcs:enable
		$crm     = sanitize_key( $get( 'crm' ) );
		$action  = sanitize_key( $get( 'log_action' ) );
		$outcome = $get( 'outcome' );
		return array(
			'crm'     => isset( CrmHook_Settings::crm_names()[ $crm ] ) ? $crm : '',
			'action'  => $action,
			'outcome' => in_array( $outcome, CrmHook_Log::OUTCOMES, true ) ? $outcome : '',
			'from'    => $date( $get( 'from' ) ),
			'to'      => $date( $get( 'to' ) ),
			'search'  => substr( $get( 's' ), 0, 191 ),
		);
	}

	/**
	 * The page.
	 */
	public static function render(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		require_once ABSPATH . 'wp-admin/includes/class-wp-list-table.php';
		require_once CRMHOOK_DIR . '/includes/class-crmhook-log-table.php';
		$filters = self::filters();
		$table   = new CrmHook_Log_Table( $filters );
		$table->prepare_items();
		$export = wp_nonce_url(
			add_query_arg(
				array_filter(
					array(
						'action'     => 'crmhook_log_export',
						'crm'        => $filters['crm'],
						'log_action' => $filters['action'],
						'outcome'    => $filters['outcome'],
						'from'       => $filters['from'],
						'to'         => $filters['to'],
						's'          => $filters['search'],
					)
				),
				admin_url( 'admin-post.php' )
			),
			'crmhook_log_export'
		);
		?>
		<div class="wrap crmhook crmhook-log" id="crmhook-log">
			<h1 class="wp-heading-inline"><?php esc_html_e( 'CRM Webhooks log', 'crmhook' ); ?></h1>
			<a href="<?php echo esc_url( $export ); ?>" class="page-title-action" id="crmhook-log-export"><?php esc_html_e( 'Export CSV', 'crmhook' ); ?></a>
			<hr class="wp-header-end">
			<?php self::notice(); ?>
			<p class="description"><?php echo esc_html( self::retention_text() ); ?></p>
			<form method="get" id="crmhook-log-filters" action="<?php echo esc_url( admin_url( 'tools.php' ) ); ?>">
				<input type="hidden" name="page" value="<?php echo esc_attr( self::PAGE ); ?>">
				<?php $table->search_box( __( 'Search contact id or email', 'crmhook' ), 'crmhook-log-search' ); ?>
				<?php $table->display(); ?>
			</form>
		</div>
		<?php
	}

	/**
	 * What the retention keeps, in words.
	 */
	private static function retention_text(): string {
		/** This filter is documented in includes/class-crmhook-log.php */
		$days = (int) apply_filters( 'crmhook_log_retention_days', CrmHook_Log::KEEP_DAYS );
		/** This filter is documented in includes/class-crmhook-log.php */
		$rows = (int) apply_filters( 'crmhook_log_max_rows', CrmHook_Log::KEEP_ROWS );
		return sprintf(
			/* translators: 1: days, 2: rows */
			__( 'Every webhook the site answered and every queued job it ran. Kept %1$s days or %2$s rows, whichever comes first. Wrong access keys are counted per address and minute.', 'crmhook' ),
			$days > 0 ? number_format_i18n( $days ) : '∞',
			$rows > 0 ? number_format_i18n( $rows ) : '∞'
		);
	}

	/**
	 * The result of "Run again", after its redirect.
	 */
	private static function notice(): void {
		// phpcs:ignore WordPress.Security.NonceVerification -- only chooses which message to show.
		$ran = isset( $_GET['crmhook_ran'] ) ? (int) $_GET['crmhook_ran'] : -1;
		if ( $ran > 0 ) {
			/* translators: %d: job id */
			printf( '<div class="notice notice-success is-dismissible" id="crmhook-log-notice"><p>%s</p></div>', esc_html( sprintf( __( 'The webhook is queued again as job %d; its result appears here when the queue has run it.', 'crmhook' ), $ran ) ) );
		} elseif ( 0 === $ran ) {
			printf( '<div class="notice notice-error is-dismissible" id="crmhook-log-notice"><p>%s</p></div>', esc_html__( 'This row cannot be run again (it did not fail, or it has no contact to sync).', 'crmhook' ) );
		}
	}

	/**
	 * "Run again" on a failed row: the webhook goes back to the queue as a job (the contact is
	 * fetched fresh), and a runner is started.
	 */
	public static function run_again(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to do that.', 'crmhook' ), 403 );
		}
		$id = isset( $_REQUEST['id'] ) ? absint( $_REQUEST['id'] ) : 0;
		check_admin_referer( 'crmhook_log_run_again_' . $id );
		$entry = CrmHook_Log::get( $id );
		$job   = null === $entry ? null : CrmHook_Log::run_again( $entry );
		if ( null !== $job ) {
			CrmHook_Runner::kick();
		}
		wp_safe_redirect( self::url( array( 'crmhook_ran' => null === $job ? 0 : $job['id'] ) ) );
		exit;
	}

	/**
	 * The rows that match the filters, as CSV, streamed in batches (the whole log never sits in
	 * memory). A cell that a spreadsheet would read as a formula is prefixed with a quote.
	 */
	public static function export(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to do that.', 'crmhook' ), 403 );
		}
		check_admin_referer( 'crmhook_log_export' );
		$filters = self::filters();
		nocache_headers();
		header( 'Content-Type: text/csv; charset=utf-8' );
		header( 'Content-Disposition: attachment; filename="crmhook-log-' . gmdate( 'Ymd-His' ) . '.csv"' );
		header( 'X-Content-Type-Options: nosniff' );
		while ( ob_get_level() > 0 ) {
			ob_end_clean();
		}
		$out     = fopen( 'php://output', 'w' ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		$columns = array( 'id', 'time', 'crm', 'action', 'contact_id', 'email', 'user_id', 'status', 'outcome', 'duration_ms', 'api_calls', 'message', 'notices', 'via', 'job_id', 'address', 'count' );
		fputcsv( $out, $columns, ',', '"', '' );
		$before = 0;
		do {
			$rows = CrmHook_Log::query( array_merge( $filters, array( 'before_id' => $before ) ), self::EXPORT_BATCH, 0 );
			foreach ( $rows as $row ) {
				$row['time']    = $row['time'] . 'Z';
				$row['notices'] = implode( ' · ', $row['notices'] );
				$cells          = array();
				foreach ( $columns as $column ) {
					$cells[] = self::csv_cell( (string) ( $row[ $column ] ?? '' ) );
				}
				fputcsv( $out, $cells, ',', '"', '' );
				$before = $row['id'];
			}
			flush();
		} while ( count( $rows ) === self::EXPORT_BATCH );
		fclose( $out ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		exit;
	}

	/**
	 * A cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage return,
	 * which some strip before they look) gets a leading quote.
	 */
	public static function csv_cell( string $value ): string {
		return '' !== $value && false !== strpos( "=+-@\t\r", $value[0] ) ? "'" . $value : $value;
	}
}
