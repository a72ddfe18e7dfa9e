<?php
/**
 * Settings → CRM Webhooks. Variables come from CrmHook_Admin::render().
 *
 * @package crmhook
 *
 * @var array<string, mixed> $s         Settings.
 * @var string               $name      Option name.
 * @var bool                 $loaded    Whether the extension is loaded.
 * @var bool                 $is_ck     Whether the CRM is ConvertKit or Kit.
 * @var list<string>         $dangerous Capabilities a webhook never grants.
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

$field = static fn( string $key ): string => esc_attr( $name . '[' . $key . ']' );
$crm_name = CrmHook_Settings::crm_names()[ $s['crm'] ] ?? $s['crm'];
?>
<div class="wrap crmhook">
	<h1><?php esc_html_e( 'CRM Webhooks', 'crmhook' ); ?></h1>
	<?php settings_errors( 'crmhook' ); ?>

	<h2 id="crmhook-webhooks"><?php esc_html_e( 'Webhook URLs', 'crmhook' ); ?></h2>
	<table class="form-table" role="presentation">
		<tr>
			<th scope="row"><label for="crmhook-access-key"><?php esc_html_e( 'Access key', 'crmhook' ); ?></label></th>
			<td>
				<input type="text" readonly class="regular-text code" id="crmhook-access-key" value="<?php echo esc_attr( $s['access_key'] ); ?>">
				<button type="button" class="button crmhook-copy" data-copy="#crmhook-access-key"><?php esc_html_e( 'Copy', 'crmhook' ); ?></button>
				<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="crmhook-inline">
					<input type="hidden" name="action" value="crmhook_regenerate_key">
					<?php wp_nonce_field( 'crmhook_regenerate_key' ); ?>
					<button type="submit" class="button" id="crmhook-regenerate-key" <?php disabled( ! $loaded ); ?>><?php esc_html_e( 'Regenerate', 'crmhook' ); ?></button>
				</form>
			</td>
		</tr>
	</table>

	<?php /* The script swaps the intro and the lines when the CRM select changes (CrmHook_Connection::script_data). */ ?>
	<div class="crmhook-builder" data-crm="<?php echo esc_attr( $s['crm'] ); ?>">
		<p id="crmhook-builder-intro"><?php echo esc_html( CrmHook_Connection::builder_intro( $s['crm'] ) ); ?></p>
		<p id="crmhook-builder-site" <?php echo CrmHook_Connection::builder_pairs( $s['crm'] ) ? '' : 'hidden'; ?>><code id="crmhook-site-url"><?php echo esc_html( home_url( '/' ) ); ?></code> <button type="button" class="button crmhook-copy" data-copy="#crmhook-site-url"><?php esc_html_e( 'Copy', 'crmhook' ); ?></button></p>
		<p class="crmhook-builder-options">
			<label><input type="checkbox" id="crmhook-opt-notify"> <?php esc_html_e( 'send_notification=true (welcome email)', 'crmhook' ); ?></label>
			<label><?php esc_html_e( 'role', 'crmhook' ); ?>
				<select id="crmhook-opt-role">
					<option value=""><?php esc_html_e( '(default)', 'crmhook' ); ?></option>
					<?php foreach ( ( $s['allowed_roles'] ? $s['allowed_roles'] : array() ) as $slug ) : ?>
						<option value="<?php echo esc_attr( $slug ); ?>"><?php echo esc_html( $slug ); ?></option>
					<?php endforeach; ?>
				</select>
			</label>
		</p>
		<?php
		$titles = array(
			'update_tags' => __( 'Update a user\'s tags', 'crmhook' ),
			'update'      => __( 'Update a user\'s tags and meta data', 'crmhook' ),
			'add'         => __( 'Create a new user (or update an existing one)', 'crmhook' ),
		);
		foreach ( CrmHook_Admin::builder_lines( $s['crm'], $s['access_key'] ) as $action => $text ) :
			?>
			<h3><?php echo esc_html( $titles[ $action ] ); ?></h3>
			<pre class="crmhook-url" id="crmhook-url-<?php echo esc_attr( $action ); ?>" data-base="<?php echo esc_attr( $text ); ?>" data-action="<?php echo esc_attr( $action ); ?>"><?php echo esc_html( $text ); ?></pre>
			<button type="button" class="button crmhook-copy" data-copy="#crmhook-url-<?php echo esc_attr( $action ); ?>"><?php esc_html_e( 'Copy', 'crmhook' ); ?></button>
		<?php endforeach; ?>
	</div>


	<form method="post" action="options.php" id="crmhook-settings">
		<?php settings_fields( 'crmhook' ); ?>
		<input type="hidden" name="<?php echo $field( '_form' ); ?>" value="1">

		<h2><?php esc_html_e( 'Connection', 'crmhook' ); ?></h2>
		<table class="form-table" role="presentation">
			<tr>
				<th scope="row"><label for="crmhook-crm"><?php esc_html_e( 'CRM', 'crmhook' ); ?></label></th>
				<td>
					<select id="crmhook-crm" name="<?php echo $field( 'crm' ); ?>">
						<?php foreach ( CrmHook_Settings::crm_names() as $slug => $label ) : ?>
							<option value="<?php echo esc_attr( $slug ); ?>" <?php selected( $s['crm'], $slug ); ?>><?php echo esc_html( $label ); ?></option>
						<?php endforeach; ?>
					</select>
					<p class="description crmhook-warning" id="crmhook-crm-switch" hidden></p>
				</td>
			</tr>
			<tr>
				<th scope="row"><label for="crmhook-api-url"><?php esc_html_e( 'API URL', 'crmhook' ); ?></label></th>
				<td>
					<input type="url" class="regular-text" id="crmhook-api-url" name="<?php echo $field( 'api_url' ); ?>" value="<?php echo esc_attr( $s['api_url'] ); ?>" placeholder="<?php echo esc_attr( CrmHook_Credentials::placeholder( $s['crm'] ) ); ?>">
					<p class="description" id="crmhook-api-url-help"><?php esc_html_e( 'ActiveCampaign: your account\'s API URL. FluentCRM and FunnelKit: the address of that WordPress site. ConvertKit, Kit and Keap: leave empty for their public API.', 'crmhook' ); ?></p>
				</td>
			</tr>
			<?php
			// One row per credential the CRMs use (the extension's table), shown for the CRMs that use
			// it; the label names each CRM's own word for it, and the script shows the chosen CRM's.
			foreach ( CrmHook_Settings::credential_keys() as $key => $secret ) :
				if ( 'api_url' === $key ) {
					continue;
				}
				$labels = CrmHook_Credentials::labels( $key );
				$users  = array_keys( $labels );
				$words  = array_values( array_unique( $labels ) );
				$names  = array_map( static fn( string $crm ): string => CrmHook_Settings::crm_names()[ $crm ] ?? $crm, $users );
				?>
				<tr class="crmhook-credential" data-crms="<?php echo esc_attr( implode( ' ', $users ) ); ?>" data-labels="<?php echo esc_attr( (string) wp_json_encode( $labels ) ); ?>">
					<th scope="row"><label for="crmhook-<?php echo esc_attr( $key ); ?>"><?php echo esc_html( implode( ' / ', $words ) . ' (' . implode( ', ', $names ) . ')' ); ?></label></th>
					<td>
						<?php if ( $secret ) : ?>
							<input type="password" class="regular-text" id="crmhook-<?php echo esc_attr( $key ); ?>" name="<?php echo $field( $key ); ?>" value="" autocomplete="new-password"
								placeholder="<?php echo '' !== $s[ $key ] && CrmHook_Credentials::uses( $s['crm'], $key ) ? esc_attr__( 'saved — leave empty to keep', 'crmhook' ) : ''; ?>">
						<?php else : ?>
							<input type="text" class="regular-text" id="crmhook-<?php echo esc_attr( $key ); ?>" name="<?php echo $field( $key ); ?>" value="<?php echo esc_attr( $s[ $key ] ); ?>" autocomplete="off">
						<?php endif; ?>
					</td>
				</tr>
			<?php endforeach; ?>
			<tr>
				<th scope="row"></th>
				<td>
					<button type="button" class="button" id="crmhook-test-connection" <?php disabled( ! $loaded ); ?>><?php esc_html_e( 'Test connection', 'crmhook' ); ?></button>
					<span id="crmhook-test-result" role="status"></span>
					<p class="description"><?php esc_html_e( 'Tests the CRM and credentials as typed above, without saving them. An empty secret field uses the saved one only for the saved CRM and API URL.', 'crmhook' ); ?></p>
				</td>
			</tr>
		</table>

		<h2><?php esc_html_e( 'New users', 'crmhook' ); ?></h2>
		<table class="form-table" role="presentation">
			<tr>
				<th scope="row"><label for="crmhook-username-format"><?php esc_html_e( 'Username format', 'crmhook' ); ?></label></th>
				<td>
					<?php $formats = CrmHook_Settings::username_formats(); ?>
					<select id="crmhook-username-format" name="<?php echo $field( 'username_format' ); ?>">
						<?php if ( ! isset( $formats[ $s['username_format'] ] ) ) : ?>
							<option value="<?php echo esc_attr( $s['username_format'] ); ?>" selected><?php echo esc_html( $s['username_format'] ); ?></option>
						<?php endif; ?>
						<?php foreach ( $formats as $slug => $format ) : ?>
							<option value="<?php echo esc_attr( $slug ); ?>" title="<?php echo esc_attr( $format['description'] ); ?>" <?php selected( $s['username_format'], $slug ); ?>><?php echo esc_html( $format['label'] . ' (' . $format['example'] . ')' ); ?></option>
						<?php endforeach; ?>
					</select>
					<?php if ( isset( $formats[ $s['username_format'] ] ) ) : ?>
						<p class="description"><?php echo esc_html( $formats[ $s['username_format'] ]['description'] ); ?></p>
					<?php endif; ?>
				</td>
			</tr>
			<tr>
				<th scope="row"><?php esc_html_e( 'Roles a webhook may set', 'crmhook' ); ?></th>
				<td>
					<fieldset>
						<?php foreach ( wp_roles()->roles as $slug => $role ) : ?>
							<?php $unsafe = (bool) array_intersect( array_keys( array_filter( $role['capabilities'] ) ), $dangerous ); ?>
							<label>
								<input type="checkbox" name="<?php echo $field( 'allowed_roles' ); ?>[]" value="<?php echo esc_attr( $slug ); ?>" <?php checked( in_array( $slug, $s['allowed_roles'], true ) ); ?> <?php disabled( $unsafe ); ?>>
								<?php echo esc_html( translate_user_role( $role['name'] ) ); ?>
								<?php if ( $unsafe ) : ?><em><?php esc_html_e( '(administrative: never granted by a webhook)', 'crmhook' ); ?></em><?php endif; ?>
							</label><br>
						<?php endforeach; ?>
						<p class="description"><?php esc_html_e( 'None ticked: only the site\'s default role (Settings → General).', 'crmhook' ); ?></p>
					</fieldset>
				</td>
			</tr>
			<tr>
				<th scope="row"><label for="crmhook-return-password"><?php esc_html_e( 'Return password', 'crmhook' ); ?></label></th>
				<td>
					<input type="text" class="regular-text" id="crmhook-return-password" name="<?php echo $field( 'return_password_field' ); ?>" value="<?php echo esc_attr( $s['return_password_field'] ); ?>">
					<p class="description"><?php esc_html_e( 'CRM field id to save a generated password in, so your emails can merge it. Empty: the password is not sent back.', 'crmhook' ); ?></p>
				</td>
			</tr>
			<tr>
				<th scope="row"><?php esc_html_e( 'Passwords of existing users', 'crmhook' ); ?></th>
				<td>
					<label><input type="checkbox" id="crmhook-update-existing-passwords" name="<?php echo $field( 'update_existing_passwords' ); ?>" value="1" <?php checked( $s['update_existing_passwords'] ); ?>> <?php esc_html_e( 'Let a CRM field mapped to the password change the password of users this plugin did not create', 'crmhook' ); ?></label>
					<p class="description crmhook-warning"><?php esc_html_e( 'Leave this off unless you need it. When it is on, anyone who can create or edit a contact in your CRM with the email address of one of your users can set that user\'s password. Off, a mapped password only reaches users the plugin created from that same contact. Administrators and other privileged users are never changed by a webhook either way.', 'crmhook' ); ?></p>
				</td>
			</tr>
			<tr>
				<th scope="row"><?php esc_html_e( 'Welcome email', 'crmhook' ); ?></th>
				<td><label><input type="checkbox" name="<?php echo $field( 'send_welcome_email' ); ?>" value="1" <?php checked( $s['send_welcome_email'] ); ?>> <?php esc_html_e( 'Always send WordPress\'s new-user email (otherwise only when the URL says send_notification=true)', 'crmhook' ); ?></label></td>
			</tr>
			<tr>
				<th scope="row"><?php esc_html_e( 'Field mapping', 'crmhook' ); ?></th>
				<td>
					<table class="crmhook-map">
						<thead><tr><th><?php esc_html_e( 'CRM field id', 'crmhook' ); ?></th><th><?php esc_html_e( 'WordPress field or meta key', 'crmhook' ); ?></th></tr></thead>
						<tbody>
						<?php
						$rows   = array();
						foreach ( $s['field_map'] as $crm_field => $wp_key ) {
							$rows[] = array( (string) $crm_field, (string) $wp_key );
						}
						$rows = array_merge( $rows, array_fill( 0, 3, array( '', '' ) ) );
						foreach ( $rows as $i => $row ) :
							?>
							<tr>
								<td><input type="text" name="<?php echo $field( 'field_map' ); ?>[<?php echo (int) $i; ?>][crm]" value="<?php echo esc_attr( $row[0] ); ?>"></td>
								<td><input type="text" list="crmhook-wp-keys" name="<?php echo $field( 'field_map' ); ?>[<?php echo (int) $i; ?>][wp]" value="<?php echo esc_attr( $row[1] ); ?>"></td>
							</tr>
						<?php endforeach; ?>
						</tbody>
					</table>
					<datalist id="crmhook-wp-keys">
						<?php foreach ( array( 'user_login', 'user_pass', 'user_email', 'first_name', 'last_name', 'display_name', 'role', 'description', 'billing_phone' ) as $key ) : ?>
							<option value="<?php echo esc_attr( $key ); ?>"></option>
						<?php endforeach; ?>
					</datalist>
					<p class="description"><?php esc_html_e( 'Map a CRM field to user_login or user_pass to give new users the username and password stored in the CRM.', 'crmhook' ); ?></p>
				</td>
			</tr>
		</table>

		<?php if ( $is_ck ) : ?>
			<?php list( $tags, $tag_error ) = $loaded ? CrmHook_Admin::tag_choices() : array( array(), '' ); ?>
			<h2><?php echo esc_html( $crm_name ); ?> <?php esc_html_e( 'automation rules', 'crmhook' ); ?></h2>
			<p><?php esc_html_e( 'Pick a tag that updates users and one that imports new users. Saving registers an automation rule in your account for each: applying the tag calls this site.', 'crmhook' ); ?></p>
			<?php if ( $tag_error ) : ?><div class="notice notice-warning inline"><p><?php echo esc_html( $tag_error ); ?></p></div><?php endif; ?>
			<table class="form-table" role="presentation">
				<?php foreach ( array( 'update' => __( 'Update tag', 'crmhook' ), 'import' => __( 'Import tag', 'crmhook' ) ) as $which => $label ) : ?>
					<tr>
						<th scope="row"><label for="crmhook-ck-<?php echo esc_attr( $which ); ?>"><?php echo esc_html( $label ); ?></label></th>
						<td>
							<select id="crmhook-ck-<?php echo esc_attr( $which ); ?>" name="<?php echo $field( "ck_{$which}_tag" ); ?>">
								<option value=""><?php esc_html_e( '— none —', 'crmhook' ); ?></option>
								<?php foreach ( $tags as $id => $tag_name ) : ?>
									<option value="<?php echo esc_attr( (string) $id ); ?>" <?php selected( (string) $s[ "ck_{$which}_tag" ], (string) $id ); ?>><?php echo esc_html( $tag_name ); ?></option>
								<?php endforeach; ?>
							</select>
							<?php if ( '' !== (string) $s[ "ck_{$which}_rule" ] ) : ?>
								<?php /* translators: %s: rule id */ ?>
								<span class="description"><?php echo esc_html( sprintf( __( 'Rule %s registered.', 'crmhook' ), $s[ "ck_{$which}_rule" ] ) ); ?></span>
							<?php endif; ?>
						</td>
					</tr>
				<?php endforeach; ?>
			</table>
			<?php require __DIR__ . '/settings-unsubscribe.php'; ?>
		<?php endif; ?>

		<h2><?php esc_html_e( 'Advanced', 'crmhook' ); ?></h2>
		<table class="form-table" role="presentation">
			<tr>
				<th scope="row"><label for="crmhook-queue-mode"><?php esc_html_e( 'Background processing', 'crmhook' ); ?></label></th>
				<td>
					<?php $queue_mode = ! empty( $s['async'] ) ? 'background' : (string) $s['queue_mode']; ?>
					<select id="crmhook-queue-mode" name="<?php echo $field( 'queue_mode' ); ?>">
						<option value="auto" <?php selected( $queue_mode, 'auto' ); ?>><?php esc_html_e( 'Automatic: immediately when the site is idle, queued during bursts (recommended)', 'crmhook' ); ?></option>
						<option value="background" <?php selected( $queue_mode, 'background' ); ?>><?php esc_html_e( 'Always in the background: answer 202 at once, process from the queue', 'crmhook' ); ?></option>
						<option value="immediate" <?php selected( $queue_mode, 'immediate' ); ?>><?php esc_html_e( 'Always immediately: process before answering', 'crmhook' ); ?></option>
					</select>
					<p class="description"><?php esc_html_e( 'A webhook URL can override this with async=true (queue) or async=false (immediately). Queued webhooks of one contact are merged and sent to the CRM at its rate limit.', 'crmhook' ); ?></p>
				</td>
			</tr>
			<?php require __DIR__ . '/settings-lane.php'; ?>
			<tr>
				<th scope="row"><?php esc_html_e( 'Uninstall', 'crmhook' ); ?></th>
				<td><label><input type="checkbox" name="<?php echo $field( 'delete_data_on_uninstall' ); ?>" value="1" <?php checked( $s['delete_data_on_uninstall'] ); ?>> <?php esc_html_e( 'Delete the settings, the contact index, the queue, the webhook log and the webhook counters when the plugin is deleted', 'crmhook' ); ?></label><br>
					<label><input type="checkbox" name="<?php echo $field( 'delete_shared_meta_on_uninstall' ); ?>" value="1" <?php checked( $s['delete_shared_meta_on_uninstall'] ); ?>> <?php esc_html_e( 'Also delete the users\' CRM links and tags ({crm}_contact_id, {crm}_tags)', 'crmhook' ); ?></label>
					<p class="description"><?php esc_html_e( 'WP Fusion keeps its links and tags under the same names: leave this unticked if WP Fusion is, or may again be, used on this site.', 'crmhook' ); ?></p></td>
			</tr>
		</table>

		<?php submit_button(); ?>
	</form>

	<?php
	$queue  = CrmHook_Queue::summary();
	$failed = CrmHook_Queue::failed();
	$labels = array(
		'queued'  => __( 'Waiting', 'crmhook' ),
		'running' => __( 'Running', 'crmhook' ),
		'done'    => __( 'Done (last 24 hours)', 'crmhook' ),
		'failed'  => __( 'Failed', 'crmhook' ),
	);
	?>
	<h2 id="crmhook-queue"><?php esc_html_e( 'Webhook queue', 'crmhook' ); ?></h2>
	<table class="widefat crmhook-queue-summary">
		<tbody>
		<?php foreach ( $labels as $status => $label ) : ?>
			<tr><th scope="row"><?php echo esc_html( $label ); ?></th><td class="crmhook-queue-<?php echo esc_attr( $status ); ?>"><?php echo (int) $queue['counts'][ $status ]; ?></td></tr>
		<?php endforeach; ?>
			<tr><th scope="row"><?php esc_html_e( 'Oldest waiting job', 'crmhook' ); ?></th>
				<td class="crmhook-queue-oldest"><?php echo null === $queue['oldest_wait'] ? esc_html__( 'none', 'crmhook' ) : esc_html( sprintf( /* translators: %d: seconds */ __( '%d s', 'crmhook' ), $queue['oldest_wait'] ) ); ?></td></tr>
		</tbody>
	</table>
	<?php if ( $failed ) : ?>
		<h3><?php esc_html_e( 'Failed jobs', 'crmhook' ); ?></h3>
		<p><?php esc_html_e( 'These webhooks could not be processed after every retry. Retry runs one again (the contact is fetched fresh from the CRM); discard removes it.', 'crmhook' ); ?></p>
		<table class="widefat striped crmhook-failed">
			<thead><tr><th><?php esc_html_e( 'Job', 'crmhook' ); ?></th><th><?php esc_html_e( 'Contact', 'crmhook' ); ?></th><th><?php esc_html_e( 'Action', 'crmhook' ); ?></th><th><?php esc_html_e( 'Attempts', 'crmhook' ); ?></th><th><?php esc_html_e( 'The CRM\'s answer', 'crmhook' ); ?></th><th></th></tr></thead>
			<tbody>
			<?php foreach ( $failed as $job ) : ?>
				<tr class="crmhook-failed-job" data-job="<?php echo (int) $job['id']; ?>">
					<td><?php echo (int) $job['id']; ?></td>
					<td><?php echo esc_html( $job['crm'] . ' ' . $job['contact_id'] ); ?></td>
					<td><?php echo esc_html( $job['action'] ); ?></td>
					<td><?php echo (int) $job['attempts']; ?></td>
					<td class="crmhook-failed-message"><?php echo esc_html( (string) $job['last_error'] ); ?></td>
					<td>
						<?php foreach ( array( 'retry' => __( 'Retry', 'crmhook' ), 'discard' => __( 'Discard', 'crmhook' ) ) as $do => $button ) : ?>
							<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="crmhook-inline">
								<input type="hidden" name="action" value="crmhook_queue_job">
								<input type="hidden" name="job" value="<?php echo (int) $job['id']; ?>">
								<input type="hidden" name="do" value="<?php echo esc_attr( $do ); ?>">
								<?php wp_nonce_field( 'crmhook_queue_job_' . $job['id'] ); ?>
								<button type="submit" class="button crmhook-<?php echo esc_attr( $do ); ?>"><?php echo esc_html( $button ); ?></button>
							</form>
						<?php endforeach; ?>
					</td>
				</tr>
			<?php endforeach; ?>
			</tbody>
		</table>
	<?php endif; ?>

	<h2 id="crmhook-recent"><?php esc_html_e( 'Recent webhooks', 'crmhook' ); ?></h2>
	<p><a href="<?php echo esc_url( CrmHook_Log_Screen::url() ); ?>" id="crmhook-log-link"><?php esc_html_e( 'The whole log, with filters, search and CSV export: Tools → CRM Webhooks log', 'crmhook' ); ?></a></p>
	<table class="widefat striped crmhook-activity">
		<thead><tr><th><?php esc_html_e( 'When', 'crmhook' ); ?></th><th><?php esc_html_e( 'CRM', 'crmhook' ); ?></th><th><?php esc_html_e( 'Action', 'crmhook' ); ?></th><th><?php esc_html_e( 'Status', 'crmhook' ); ?></th><th><?php esc_html_e( 'What happened', 'crmhook' ); ?></th></tr></thead>
		<tbody>
		<?php $entries = CrmHook_Log::recent( 10 ); ?>
		<?php if ( ! $entries ) : ?>
			<tr><td colspan="5"><?php esc_html_e( 'No webhooks yet. Send a test: add wpf_action=test to a URL above.', 'crmhook' ); ?></td></tr>
		<?php endif; ?>
		<?php foreach ( $entries as $entry ) : ?>
			<tr class="crmhook-recent-row crmhook-outcome-<?php echo esc_attr( str_replace( ' ', '-', $entry['outcome'] ) ); ?>" data-outcome="<?php echo esc_attr( $entry['outcome'] ); ?>">
				<td><a href="<?php echo esc_url( CrmHook_Log_Screen::url() . '#crmhook-log-' . $entry['id'] ); ?>"><?php echo esc_html( wp_date( 'Y-m-d H:i:s', (int) strtotime( $entry['time'] . ' UTC' ) ) ); ?></a></td>
				<td><?php echo esc_html( CrmHook_Settings::crm_names()[ $entry['crm'] ] ?? $entry['crm'] ); ?></td>
				<td><?php echo esc_html( $entry['action'] ); ?></td>
				<td><?php echo (int) $entry['status']; ?> <span class="crmhook-badge crmhook-badge-<?php echo esc_attr( str_replace( ' ', '-', $entry['outcome'] ) ); ?>"><?php echo esc_html( $entry['outcome'] ); ?></span></td>
				<td><?php echo esc_html( $entry['message'] ); ?>
					<?php if ( $entry['notices'] ) : ?><br><small><?php echo esc_html( implode( ' · ', $entry['notices'] ) ); ?></small><?php endif; ?>
				</td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
</div>
