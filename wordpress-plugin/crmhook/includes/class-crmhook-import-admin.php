<?php
/**
 * The "Import from CRM" screen (Tools) and the REST endpoints it polls.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Tools → Import from CRM: pick a tag, see how many contacts carry it, start; the page then
 * polls `crmhook/v1/imports/{id}` for the progress bar. Starting and cancelling are admin-post
 * forms (nonce + manage_options), so they work without JavaScript; the import itself runs in
 * the queue's runner and goes on when the browser is closed.
 */
final class CrmHook_Import_Admin {

	const PAGE = 'crmhook-import';

	/** The REST namespace. */
	const REST_NAMESPACE = 'crmhook/v1';

	/**
	 * Registers the screen, its form handlers and the REST routes.
	 */
	public static function register(): void {
		add_action( 'rest_api_init', array( __CLASS__, 'routes' ) );
		if ( ! is_admin() ) {
			return;
		}
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_post_crmhook_import_start', array( __CLASS__, 'handle_start' ) );
		add_action( 'admin_post_crmhook_import_cancel', array( __CLASS__, 'handle_cancel' ) );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'assets' ) );
	}

	/**
	 * Tools → Import from CRM.
	 */
	public static function menu(): void {
		add_management_page( __( 'Import users from CRM', 'crmhook' ), __( 'Import from CRM', 'crmhook' ), 'manage_options', self::PAGE, array( __CLASS__, 'render' ) );
	}

	/**
	 * The screen's script, with the REST root and a `wp_rest` nonce (cookie authentication).
	 *
	 * @param string $hook The admin page's hook suffix.
	 */
	public static function assets( string $hook ): void {
		if ( 'tools_page_' . self::PAGE !== $hook ) {
			return;
		}
		wp_enqueue_style( 'crmhook-admin', plugins_url( 'assets/admin.css', CRMHOOK_FILE ), array(), CRMHOOK_VERSION );
		wp_enqueue_script( 'crmhook-import', plugins_url( 'assets/import.js', CRMHOOK_FILE ), array(), CRMHOOK_VERSION, true );
		wp_localize_script(
			'crmhook-import',
			'crmhookImport',
			array(
				'root'      => esc_url_raw( rest_url( self::REST_NAMESPACE . '/imports' ) ),
				'nonce'     => wp_create_nonce( 'wp_rest' ),
				'counting'  => __( 'Counting…', 'crmhook' ),
				/* translators: %s: a number of contacts */
				'count'     => __( '%s contacts have this tag.', 'crmhook' ),
				/* translators: %s: a number of contacts */
				'countMore' => __( 'At least %s contacts have this tag.', 'crmhook' ),
				'statuses'  => self::status_words(),
			)
		);
	}

	/**
	 * What each status is called on the screen.
	 *
	 * @return array<string, string>
	 */
	private static function status_words(): array {
		return array(
			'listing'   => __( 'Listing the CRM\'s contacts and importing them…', 'crmhook' ),
			'running'   => __( 'All contacts listed; importing the rest…', 'crmhook' ),
			'done'      => __( 'Import finished.', 'crmhook' ),
			'cancelled' => __( 'Import cancelled.', 'crmhook' ),
			'failed'    => __( 'Listing the contacts failed; the contacts found before were imported.', 'crmhook' ),
		);
	}

	/**
	 * The REST routes: an import's progress, cancelling it, and how many contacts carry a tag.
	 */
	public static function routes(): void {
		$admin = static function (): bool {
			return current_user_can( 'manage_options' );
		};
		register_rest_route(
			self::REST_NAMESPACE,
			'/imports/(?P<id>\d+)',
			array(
				'methods'             => 'GET',
				'callback'            => array( __CLASS__, 'rest_progress' ),
				'permission_callback' => $admin,
				'args'                => array( 'id' => array( 'sanitize_callback' => 'absint' ) ),
			)
		);
		register_rest_route(
			self::REST_NAMESPACE,
			'/imports/(?P<id>\d+)/cancel',
			array(
				'methods'             => 'POST',
				'callback'            => array( __CLASS__, 'rest_cancel' ),
				'permission_callback' => $admin,
				'args'                => array( 'id' => array( 'sanitize_callback' => 'absint' ) ),
			)
		);
		register_rest_route(
			self::REST_NAMESPACE,
			'/imports/count',
			array(
				'methods'             => 'GET',
				'callback'            => array( __CLASS__, 'rest_count' ),
				'permission_callback' => $admin,
				'args'                => array(
					'tag_id' => array(
						'required'          => true,
						'validate_callback' => static function ( $value ): bool {
							return is_string( $value ) && 1 === preg_match( '/^\d{1,64}$/', $value );
						},
					),
				),
			)
		);
	}

	/**
	 * GET imports/{id}: the import's progress.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function rest_progress( WP_REST_Request $request ) {
		$progress = CrmHook_Import::progress( (int) $request['id'] );
		if ( null === $progress ) {
			return new WP_Error( 'crmhook_no_import', __( 'No such import.', 'crmhook' ), array( 'status' => 404 ) );
		}
		// WordPress sends its no-cache headers with every authenticated REST answer.
		return new WP_REST_Response( $progress, 200 );
	}

	/**
	 * POST imports/{id}/cancel.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function rest_cancel( WP_REST_Request $request ) {
		$id = (int) $request['id'];
		if ( null === CrmHook_Import::progress( $id ) ) {
			return new WP_Error( 'crmhook_no_import', __( 'No such import.', 'crmhook' ), array( 'status' => 404 ) );
		}
		if ( ! CrmHook_Import::cancel( $id ) ) {
			return new WP_Error( 'crmhook_import_over', __( 'This import is over: there is nothing to cancel.', 'crmhook' ), array( 'status' => 409 ) );
		}
		return new WP_REST_Response( CrmHook_Import::progress( $id ), 200 );
	}

	/**
	 * GET imports/count?tag_id=…: how many contacts carry the tag, from the listing's first
	 * page (`total` where the CRM gives it; else the first page's count, and `more`).
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function rest_count( WP_REST_Request $request ) {
		if ( ! CrmHook_Plugin::extension_loaded() ) {
			return new WP_Error( 'crmhook_no_extension', __( 'The crmhook PHP extension is not loaded.', 'crmhook' ), array( 'status' => 503 ) );
		}
		try {
			$page = crmhook_list_contacts_by_tag( CrmHook_Settings::crm_config(), (string) $request['tag_id'], null );
		} catch ( \CrmHook\CrmException $e ) {
			return new WP_Error( 'crmhook_crm_failed', $e->getMessage(), array( 'status' => 502 ) );
		} catch ( \ValueError $e ) {
			return new WP_Error( 'crmhook_not_configured', $e->getMessage(), array( 'status' => 400 ) );
		}
		$more = null !== $page['next'];
		return new WP_REST_Response(
			array(
				'total'      => $page['total'] ?? ( $more ? null : count( $page['contacts'] ) ),
				'first_page' => count( $page['contacts'] ),
				'more'       => $more,
			),
			200
		);
	}

	/**
	 * The start form: a new import of the chosen tag.
	 */
	public static function handle_start(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to import users.', 'crmhook' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( 'crmhook_import_start' );
		$tag_id = isset( $_POST['tag_id'] ) ? sanitize_text_field( wp_unslash( (string) $_POST['tag_id'] ) ) : '';
		$role   = isset( $_POST['role'] ) ? sanitize_key( wp_unslash( (string) $_POST['role'] ) ) : '';
		if ( '' !== $role && ! in_array( $role, self::role_choices(), true ) ) {
			$role = '';
		}
		list( $tags ) = CrmHook_Admin::tag_choices();
		$started      = CrmHook_Import::start( $tag_id, (string) ( $tags[ $tag_id ] ?? '' ), '' === $role ? null : $role, null );
		$args         = is_wp_error( $started ) ? array( 'crmhook_error' => rawurlencode( $started->get_error_message() ) ) : array( 'import' => $started );
		wp_safe_redirect( add_query_arg( $args + array( 'page' => self::PAGE ), admin_url( 'tools.php' ) ) );
		exit;
	}

	/**
	 * The cancel form.
	 */
	public static function handle_cancel(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to import users.', 'crmhook' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( 'crmhook_import_cancel' );
		$id = isset( $_POST['import'] ) ? absint( $_POST['import'] ) : 0;
		CrmHook_Import::cancel( $id );
		wp_safe_redirect( add_query_arg( array( 'page' => self::PAGE, 'import' => $id ), admin_url( 'tools.php' ) ) );
		exit;
	}

	/**
	 * Roles an import may ask for: the ones a webhook may set (Settings → allowed roles; the
	 * default role otherwise). The plan's role policy still judges each user.
	 *
	 * @return list<string>
	 */
	private static function role_choices(): array {
		$allowed = array_values( array_filter( array_map( 'strval', (array) CrmHook_Settings::get( 'allowed_roles' ) ) ) );
		return $allowed ? $allowed : array( (string) get_option( 'default_role', 'subscriber' ) );
	}

	/**
	 * The screen.
	 */
	public static function render(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- display only.
		$error = isset( $_GET['crmhook_error'] ) ? sanitize_text_field( rawurldecode( wp_unslash( (string) $_GET['crmhook_error'] ) ) ) : '';
		$id    = isset( $_GET['import'] ) ? absint( $_GET['import'] ) : (int) CrmHook_Import::latest_id();
		// phpcs:enable
		$progress          = $id ? CrmHook_Import::progress( $id ) : null;
		list( $tags, $why ) = CrmHook_Plugin::extension_loaded() ? CrmHook_Admin::tag_choices() : array( array(), '' );
		$words             = self::status_words();
		$active            = $progress && in_array( $progress['status'], array( 'listing', 'running' ), true );
		?>
		<div class="wrap" id="crmhook-import">
			<h1><?php esc_html_e( 'Import users from CRM', 'crmhook' ); ?></h1>
			<p><?php esc_html_e( 'Creates a WordPress user for every CRM contact that carries a tag, or updates the user who already exists (by contact link, then email), exactly as an add webhook would. The import runs in the background queue: you can close this page.', 'crmhook' ); ?></p>
			<?php if ( '' !== $error ) : ?>
				<div class="notice notice-error" id="crmhook-import-start-error"><p><?php echo esc_html( $error ); ?></p></div>
			<?php endif; ?>
			<?php if ( '' !== $why ) : ?>
				<div class="notice notice-error"><p><?php echo esc_html( $why ); ?></p></div>
			<?php endif; ?>

			<form id="crmhook-import-form" method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="crmhook_import_start">
				<?php wp_nonce_field( 'crmhook_import_start' ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="crmhook-import-tag"><?php esc_html_e( 'Tag', 'crmhook' ); ?></label></th>
						<td>
							<select id="crmhook-import-tag" name="tag_id" required>
								<option value=""><?php esc_html_e( '— Choose a tag —', 'crmhook' ); ?></option>
								<?php foreach ( $tags as $tag_id => $name ) : ?>
									<option value="<?php echo esc_attr( (string) $tag_id ); ?>"><?php echo esc_html( (string) $name ); ?></option>
								<?php endforeach; ?>
							</select>
							<p class="description" id="crmhook-import-tag-count" aria-live="polite"></p>
						</td>
					</tr>
					<tr>
						<th scope="row"><label for="crmhook-import-role"><?php esc_html_e( 'Role for new users', 'crmhook' ); ?></label></th>
						<td>
							<select id="crmhook-import-role" name="role">
								<option value=""><?php esc_html_e( 'The default role (Settings → CRM Webhooks)', 'crmhook' ); ?></option>
								<?php foreach ( self::role_choices() as $role ) : ?>
									<option value="<?php echo esc_attr( $role ); ?>"><?php echo esc_html( translate_user_role( wp_roles()->roles[ $role ]['name'] ?? $role ) ); ?></option>
								<?php endforeach; ?>
							</select>
						</td>
					</tr>
				</table>
				<p><button type="submit" class="button button-primary" id="crmhook-import-start" <?php disabled( $active ); ?>><?php esc_html_e( 'Start import', 'crmhook' ); ?></button></p>
			</form>

			<?php if ( $progress ) : ?>
				<div id="crmhook-import-status-box" data-import="<?php echo esc_attr( (string) $progress['id'] ); ?>" data-status="<?php echo esc_attr( $progress['status'] ); ?>">
					<h2>
						<?php
						/* translators: 1: import id, 2: tag name or id */
						echo esc_html( sprintf( __( 'Import %1$d: contacts tagged “%2$s”', 'crmhook' ), $progress['id'], '' !== $progress['tag_name'] ? $progress['tag_name'] : $progress['tag_id'] ) );
						?>
					</h2>
					<p>
						<progress id="crmhook-import-progress" max="100" value="<?php echo esc_attr( (string) $progress['percent'] ); ?>"><?php echo esc_html( $progress['percent'] . ' %' ); ?></progress>
						<span id="crmhook-import-percent"><?php echo esc_html( $progress['percent'] . ' %' ); ?></span>
					</p>
					<p id="crmhook-import-status"><?php echo esc_html( $words[ $progress['status'] ] ?? $progress['status'] ); ?></p>
					<table class="widefat striped" style="max-width: 40em">
						<tbody>
							<tr><th scope="row"><?php esc_html_e( 'Contacts found', 'crmhook' ); ?></th><td id="crmhook-import-found"><?php echo esc_html( (string) $progress['found'] ); ?></td></tr>
							<tr><th scope="row"><?php esc_html_e( 'Users created', 'crmhook' ); ?></th><td id="crmhook-import-created"><?php echo esc_html( (string) $progress['created'] ); ?></td></tr>
							<tr><th scope="row"><?php esc_html_e( 'Users updated', 'crmhook' ); ?></th><td id="crmhook-import-updated"><?php echo esc_html( (string) $progress['updated'] ); ?></td></tr>
							<tr><th scope="row"><?php esc_html_e( 'Skipped', 'crmhook' ); ?></th><td id="crmhook-import-skipped"><?php echo esc_html( (string) $progress['skipped'] ); ?></td></tr>
							<tr><th scope="row"><?php esc_html_e( 'Failed', 'crmhook' ); ?></th><td id="crmhook-import-failed"><?php echo esc_html( (string) $progress['failed'] ); ?></td></tr>
							<tr><th scope="row"><?php esc_html_e( 'Waiting in the queue', 'crmhook' ); ?></th><td id="crmhook-import-waiting"><?php echo esc_html( (string) $progress['waiting'] ); ?></td></tr>
						</tbody>
					</table>
					<p id="crmhook-import-error" class="crmhook-error"><?php echo esc_html( (string) $progress['last_error'] ); ?></p>
					<form id="crmhook-import-cancel-form" method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" <?php echo $active ? '' : 'hidden'; ?>>
						<input type="hidden" name="action" value="crmhook_import_cancel">
						<input type="hidden" name="import" value="<?php echo esc_attr( (string) $progress['id'] ); ?>">
						<?php wp_nonce_field( 'crmhook_import_cancel' ); ?>
						<button type="submit" class="button" id="crmhook-import-cancel"><?php esc_html_e( 'Cancel import', 'crmhook' ); ?></button>
					</form>
				</div>
			<?php endif; ?>
		</div>
		<?php
	}
}
