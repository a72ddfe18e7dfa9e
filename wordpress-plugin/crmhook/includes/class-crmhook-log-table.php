<?php
/**
 * The webhook log as a WP_List_Table (loaded by CrmHook_Log_Screen, on its screen only).
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Rows of CrmHook_Log, newest first, with filters by CRM, action, outcome and date, search by
 * contact id or email, pagination, and "Run again" on failed rows. Every row is
 * `<tr id="crmhook-log-ID" class="crmhook-log-row crmhook-outcome-OUTCOME" data-id data-outcome
 * data-status data-via>`; failures carry `crmhook-log-failure` too.
 */
final class CrmHook_Log_Table extends WP_List_Table {

	/** @var array<string, string> The filters (CrmHook_Log_Screen::filters()). */
	private array $filters;

	/**
	 * @param array<string, string> $filters The filters.
	 */
	public function __construct( array $filters ) {
		$this->filters = $filters;
		parent::__construct(
			array(
				'singular' => 'crmhook-log-entry',
				'plural'   => 'crmhook-log-entries',
				'ajax'     => false,
				'screen'   => 'tools_page_' . CrmHook_Log_Screen::PAGE,
			)
		);
	}

	/**
	 * @return array<string, string>
	 */
	public function get_columns() {
		return array(
			'time'        => __( 'Time', 'crmhook' ),
			'crm'         => __( 'CRM', 'crmhook' ),
			'action'      => __( 'Action', 'crmhook' ),
			'contact_id'  => __( 'Contact', 'crmhook' ),
			'user_id'     => __( 'User', 'crmhook' ),
			'status'      => __( 'HTTP', 'crmhook' ),
			'outcome'     => __( 'Outcome', 'crmhook' ),
			'duration_ms' => __( 'Duration', 'crmhook' ),
			'api_calls'   => __( 'CRM calls', 'crmhook' ),
			'message'     => __( 'Message', 'crmhook' ),
		);
	}

	/**
	 * Reads one page of rows.
	 */
	public function prepare_items() {
		$per_page = max( 1, (int) $this->get_items_per_page( 'crmhook_log_per_page', 50 ) );
		$total    = CrmHook_Log::count( $this->filters );
		$this->set_pagination_args(
			array(
				'total_items' => $total,
				'per_page'    => $per_page,
			)
		);
		$this->items           = CrmHook_Log::query( $this->filters, $per_page, ( $this->get_pagenum() - 1 ) * $per_page );
		$this->_column_headers = array( $this->get_columns(), array(), array(), 'time' );
	}

	/**
	 * Nothing logged (yet, or for these filters).
	 */
	public function no_items() {
		esc_html_e( 'No webhooks logged for these filters.', 'crmhook' );
	}

	/**
	 * One row, with the attributes a test or a script can select by.
	 *
	 * @param array<string, mixed> $item The entry.
	 */
	public function single_row( $item ) {
		$outcome = (string) $item['outcome'];
		$classes = array( 'crmhook-log-row', 'crmhook-outcome-' . sanitize_html_class( str_replace( ' ', '-', $outcome ) ) );
		if ( in_array( $outcome, array( 'failed', 'refused' ), true ) ) {
			$classes[] = 'crmhook-log-failure';
		}
		printf(
			'<tr id="crmhook-log-%1$d" class="%2$s" data-id="%1$d" data-outcome="%3$s" data-status="%4$d" data-via="%5$s">',
			(int) $item['id'],
			esc_attr( implode( ' ', $classes ) ),
			esc_attr( $outcome ),
			(int) $item['status'],
			esc_attr( (string) $item['via'] )
		);
		$this->single_row_columns( $item );
		echo '</tr>';
	}

	/**
	 * Filters above the table (top only): CRM, action, outcome, from/to dates.
	 *
	 * @param string $which top or bottom.
	 */
	protected function extra_tablenav( $which ) {
		if ( 'top' !== $which ) {
			return;
		}
		$actions = array( 'add', 'update', 'update_tags', 'test', 'ck_unsubscribed', 'kit_unsubscribed' );
		?>
		<div class="alignleft actions crmhook-log-filter-controls">
			<label class="screen-reader-text" for="crmhook-log-crm"><?php esc_html_e( 'CRM', 'crmhook' ); ?></label>
			<select name="crm" id="crmhook-log-crm">
				<option value=""><?php esc_html_e( 'All CRMs', 'crmhook' ); ?></option>
				<?php foreach ( CrmHook_Settings::crm_names() as $slug => $name ) : ?>
					<option value="<?php echo esc_attr( $slug ); ?>" <?php selected( $this->filters['crm'], $slug ); ?>><?php echo esc_html( $name ); ?></option>
				<?php endforeach; ?>
			</select>
			<label class="screen-reader-text" for="crmhook-log-action"><?php esc_html_e( 'Action', 'crmhook' ); ?></label>
			<select name="log_action" id="crmhook-log-action">
				<option value=""><?php esc_html_e( 'All actions', 'crmhook' ); ?></option>
				<?php foreach ( $actions as $action ) : ?>
					<option value="<?php echo esc_attr( $action ); ?>" <?php selected( $this->filters['action'], $action ); ?>><?php echo esc_html( $action ); ?></option>
				<?php endforeach; ?>
			</select>
			<label class="screen-reader-text" for="crmhook-log-outcome"><?php esc_html_e( 'Outcome', 'crmhook' ); ?></label>
			<select name="outcome" id="crmhook-log-outcome">
				<option value=""><?php esc_html_e( 'All outcomes', 'crmhook' ); ?></option>
				<?php foreach ( CrmHook_Log::OUTCOMES as $outcome ) : ?>
					<option value="<?php echo esc_attr( $outcome ); ?>" <?php selected( $this->filters['outcome'], $outcome ); ?>><?php echo esc_html( self::outcome_label( $outcome ) ); ?></option>
				<?php endforeach; ?>
			</select>
			<label for="crmhook-log-from"><?php esc_html_e( 'From', 'crmhook' ); ?></label>
			<input type="date" name="from" id="crmhook-log-from" value="<?php echo esc_attr( $this->filters['from'] ); ?>">
			<label for="crmhook-log-to"><?php esc_html_e( 'to', 'crmhook' ); ?></label>
			<input type="date" name="to" id="crmhook-log-to" value="<?php echo esc_attr( $this->filters['to'] ); ?>">
			<?php submit_button( __( 'Filter', 'crmhook' ), '', 'filter_action', false, array( 'id' => 'crmhook-log-filter' ) ); ?>
		</div>
		<?php
	}

	/**
	 * An outcome, in words.
	 */
	public static function outcome_label( string $outcome ): string {
		$labels = array(
			'created'   => __( 'created', 'crmhook' ),
			'updated'   => __( 'updated', 'crmhook' ),
			'no change' => __( 'no change', 'crmhook' ),
			'not found' => __( 'not found', 'crmhook' ),
			'skipped'   => __( 'skipped', 'crmhook' ),
			'failed'    => __( 'failed', 'crmhook' ),
			'queued'    => __( 'queued', 'crmhook' ),
			'retried'   => __( 'retried', 'crmhook' ),
			'refused'   => __( 'refused', 'crmhook' ),
			'test'      => __( 'test', 'crmhook' ),
		);
		return $labels[ $outcome ] ?? $outcome;
	}

	/**
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_time( $item ): string {
		$time = strtotime( $item['time'] . ' UTC' );
		return '<time datetime="' . esc_attr( gmdate( 'c', (int) $time ) ) . '">' . esc_html( wp_date( 'Y-m-d H:i:s', (int) $time ) ) . '</time>';
	}

	/**
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_crm( $item ): string {
		return esc_html( CrmHook_Settings::crm_names()[ $item['crm'] ] ?? $item['crm'] );
	}

	/**
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_action( $item ): string {
		$via = 'queue' === $item['via'] && $item['job_id']
			/* translators: %d: job id */
			? ' <small class="crmhook-log-job">' . esc_html( sprintf( __( 'job %d', 'crmhook' ), $item['job_id'] ) ) . '</small>'
			: ( $item['job_id'] ? ' <small class="crmhook-log-job">→ ' . esc_html( sprintf( /* translators: %d: job id */ __( 'job %d', 'crmhook' ), $item['job_id'] ) ) . '</small>' : '' );
		return esc_html( $item['action'] ) . $via;
	}

	/**
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_contact_id( $item ): string {
		$out = esc_html( $item['contact_id'] );
		if ( '' !== $item['email'] ) {
			$out .= '<br><small>' . esc_html( $item['email'] ) . '</small>';
		}
		return $out;
	}

	/**
	 * The user, linked to their profile.
	 *
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_user_id( $item ): string {
		if ( ! $item['user_id'] ) {
			return '—';
		}
		$user = get_userdata( (int) $item['user_id'] );
		$name = $user ? $user->user_login : '#' . (int) $item['user_id'];
		return '<a class="crmhook-log-user" href="' . esc_url( get_edit_user_link( (int) $item['user_id'] ) ?: admin_url( 'user-edit.php?user_id=' . (int) $item['user_id'] ) ) . '">' . esc_html( $name ) . '</a>';
	}

	/**
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_status( $item ): string {
		return (string) (int) $item['status'];
	}

	/**
	 * The outcome as a badge, with "Run again" under a failed row.
	 *
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_outcome( $item ): string {
		$out = '<span class="crmhook-badge crmhook-badge-' . esc_attr( sanitize_html_class( str_replace( ' ', '-', $item['outcome'] ) ) ) . '">' . esc_html( self::outcome_label( $item['outcome'] ) ) . '</span>';
		if ( CrmHook_Log::can_run_again( $item ) ) {
			$url  = wp_nonce_url(
				add_query_arg(
					array(
						'action' => 'crmhook_log_run_again',
						'id'     => (int) $item['id'],
					),
					admin_url( 'admin-post.php' )
				),
				'crmhook_log_run_again_' . (int) $item['id']
			);
			$out .= $this->row_actions( array( 'run_again' => '<a class="crmhook-log-run-again" href="' . esc_url( $url ) . '">' . esc_html__( 'Run again', 'crmhook' ) . '</a>' ), true );
		}
		return $out;
	}

	/**
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_duration_ms( $item ): string {
		/* translators: %s: milliseconds */
		return esc_html( sprintf( __( '%s ms', 'crmhook' ), number_format_i18n( (int) $item['duration_ms'] ) ) );
	}

	/**
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_api_calls( $item ): string {
		return (string) (int) $item['api_calls'];
	}

	/**
	 * The message, the notices under it, and for wrong keys the address and how many it sent.
	 *
	 * @param array<string, mixed> $item The entry.
	 */
	protected function column_message( $item ): string {
		$out = esc_html( $item['message'] );
		if ( $item['count'] > 1 || ( 'refused' === $item['outcome'] && '' !== $item['address'] ) ) {
			/* translators: 1: client address, 2: number of requests */
			$out .= '<br><small class="crmhook-log-count">' . esc_html( sprintf( _n( 'From %1$s: %2$d request this minute.', 'From %1$s: %2$d requests this minute.', (int) $item['count'], 'crmhook' ), $item['address'], (int) $item['count'] ) ) . '</small>';
		}
		if ( $item['notices'] ) {
			$out .= '<br><small class="crmhook-log-notices">' . esc_html( implode( ' · ', $item['notices'] ) ) . '</small>';
		}
		return $out;
	}
}
