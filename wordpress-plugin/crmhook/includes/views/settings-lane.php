<?php
/**
 * Settings → CRM Webhooks → Advanced → Fast lane: the switch, whether the lane is active on this
 * server (as the extension reports it), the lines that turn it on, and its last accept. A table
 * row of the settings form; variables come from settings-page.php.
 *
 * @package crmhook
 *
 * @var array<string, mixed> $s     Settings.
 * @var callable             $field Field name of a setting, escaped.
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

$crmhook_lane = CrmHook_Lane_Config::status();
$crmhook_ini  = array(
	'crmhook.lane = On',
	'crmhook.lane_entry = ' . $crmhook_lane['entry_expected'],
	'crmhook.lane_config = ' . ( '' !== $crmhook_lane['config'] ? $crmhook_lane['config'] : dirname( untrailingslashit( ABSPATH ) ) . '/crmhook-lane/' . sanitize_key( (string) wp_parse_url( home_url(), PHP_URL_HOST ) ) . '.json' ),
);
?>
<tr id="crmhook-fast-lane">
	<th scope="row"><?php esc_html_e( 'Fast lane', 'crmhook' ); ?></th>
	<td>
		<label><input type="checkbox" name="<?php echo $field( 'fast_lane' ); ?>" value="1" <?php checked( ! empty( $s['fast_lane'] ) ); ?>> <?php esc_html_e( 'Accept queued webhooks before WordPress loads (needs the server lines below)', 'crmhook' ); ?></label>
		<p class="crmhook-lane-state">
			<?php if ( $crmhook_lane['active'] ) : ?>
				<strong><?php esc_html_e( 'Active on this server.', 'crmhook' ); ?></strong>
			<?php elseif ( $crmhook_lane['multisite'] ) : ?>
				<strong><?php esc_html_e( 'Not available on a multisite network: webhooks take the normal path.', 'crmhook' ); ?></strong>
			<?php elseif ( ! $crmhook_lane['enabled'] ) : ?>
				<strong><?php esc_html_e( 'Not turned on in this server\'s PHP.', 'crmhook' ); ?></strong>
			<?php elseif ( ! $crmhook_lane['pdo_mysql'] ) : ?>
				<strong><?php esc_html_e( 'Turned on, but this server\'s PHP has no PDO MySQL driver (pdo_mysql), which the lane uses to reach the database.', 'crmhook' ); ?></strong>
			<?php elseif ( ! $crmhook_lane['entry_found'] ) : ?>
				<strong><?php esc_html_e( 'Turned on, but crmhook.lane_entry does not name this plugin\'s lane.php.', 'crmhook' ); ?></strong>
			<?php elseif ( ! $crmhook_lane['config_written'] ) : ?>
				<strong><?php esc_html_e( 'Turned on, but the file crmhook.lane_config names cannot be written (its folder must exist and be writable by PHP).', 'crmhook' ); ?></strong>
			<?php else : ?>
				<strong><?php esc_html_e( 'Ready on this server: tick the box and save to use it.', 'crmhook' ); ?></strong>
			<?php endif; ?>
			<?php
			if ( null !== $crmhook_lane['last_accepted'] ) {
				/* translators: %s: date and time (UTC) */
				echo ' ' . esc_html( sprintf( __( 'Last webhook accepted by the fast lane: %s UTC.', 'crmhook' ), substr( $crmhook_lane['last_accepted'], 0, 19 ) ) );
			}
			?>
		</p>
		<?php if ( $crmhook_lane['config_public'] ) : ?>
			<p class="notice notice-warning inline"><?php esc_html_e( 'The lane\'s configuration file holds the database password and lies inside the web root: move it outside, or deny it in the web server.', 'crmhook' ); ?></p>
		<?php endif; ?>
		<?php if ( null !== $crmhook_lane['prepend'] ) : ?>
			<?php /* translators: %s: a file path */ ?>
			<p class="description"><?php echo esc_html( sprintf( __( 'This server already prepends %s: the lane runs it first, then takes the webhook.', 'crmhook' ), $crmhook_lane['prepend'] ) ); ?></p>
		<?php endif; ?>
		<p class="description"><?php esc_html_e( 'A webhook whose URL carries wpf_action is then checked by the extension, queued and answered 202 in about a millisecond, without loading WordPress, so a burst from the CRM does not slow the site. Add these lines to the PHP of every web server (php.ini, or the php-fpm pool as php_admin_value[…]), make the folder of the last one (outside the web root, writable by PHP), restart php-fpm, then save this page:', 'crmhook' ); ?></p>
		<pre class="crmhook-lane-ini"><?php echo esc_html( implode( "\n", $crmhook_ini ) ); ?></pre>
		<details class="crmhook-lane-pool">
			<summary><?php esc_html_e( 'For the largest bursts: a php-fpm pool of their own for webhooks', 'crmhook' ); ?></summary>
			<p class="description"><?php esc_html_e( 'Webhooks then never make visitors\' pages wait. Copy the site\'s php-fpm pool under another name and socket, with the lines above and process.priority = 10, and send requests whose query string has wpf_action or crmhook_runner (the queue runner) to it. With nginx, in the http block, and fastcgi_pass $crmhook_php; in the site\'s PHP location:', 'crmhook' ); ?></p>
			<pre class="crmhook-lane-pool-nginx"><?php echo esc_html( "map \$args \$crmhook_php {\n    \"~(^|&)(wpf_action|crmhook_runner)(=|&|\$)\" unix:/run/php/php-fpm-webhooks.sock;\n    default unix:/run/php/php-fpm.sock;\n}" ); ?></pre>
		</details>
		<p class="description"><?php esc_html_e( 'With the lane on, automatic mode queues every webhook (a lone webhook is answered 202 too, and a runner starts at once); async=false and "always immediately" still run through WordPress. Webhooks that carry wpf_action only in their body (Keap, FunnelKit form data) take the normal path.', 'crmhook' ); ?></p>
	</td>
</tr>
