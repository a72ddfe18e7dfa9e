<?php
/**
 * Settings → CRM Webhooks, ConvertKit/Kit: the unsubscribe rule and what it does. Included by
 * settings-page.php inside its form, with its variables.
 *
 * @package crmhook
 *
 * @var array<string, mixed> $s        Settings.
 * @var callable             $field    Option field name, escaped.
 * @var string               $crm_name The CRM's name.
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

$s = array_merge( CrmHook_Unsubscribe::defaults(), $s );
?>
<h3 id="crmhook-unsubscribes"><?php esc_html_e( 'Unsubscribes', 'crmhook' ); ?></h3>
<table class="form-table" role="presentation">
	<tr>
		<th scope="row"><?php esc_html_e( 'Unsubscribe notifications', 'crmhook' ); ?></th>
		<td>
			<label><input type="checkbox" id="crmhook-ck-unsubscribe" name="<?php echo $field( 'ck_unsubscribe_notify' ); ?>" value="1" <?php checked( $s['ck_unsubscribe_notify'] ); ?>>
				<?php echo esc_html( sprintf( /* translators: %s: CRM name */ __( 'Tell this site when a %s subscriber unsubscribes', 'crmhook' ), $crm_name ) ); ?></label>
			<?php if ( '' !== (string) $s['ck_unsubscribe_rule'] ) : ?>
				<?php /* translators: %s: rule id */ ?>
				<span class="description" id="crmhook-ck-unsubscribe-rule"><?php echo esc_html( sprintf( __( 'Rule %s registered.', 'crmhook' ), $s['ck_unsubscribe_rule'] ) ); ?></span>
			<?php endif; ?>
			<p class="description"><?php esc_html_e( 'Saving registers an automation rule in your account for the unsubscribe event. When a subscriber who is one of your users unsubscribes, you get an email, and the options below are applied. Administrators and other privileged users are never changed.', 'crmhook' ); ?></p>
		</td>
	</tr>
	<tr>
		<th scope="row"><label for="crmhook-ck-unsubscribe-email"><?php esc_html_e( 'Notification email', 'crmhook' ); ?></label></th>
		<td>
			<input type="email" class="regular-text" id="crmhook-ck-unsubscribe-email" name="<?php echo $field( 'ck_unsubscribe_email' ); ?>" value="<?php echo esc_attr( (string) $s['ck_unsubscribe_email'] ); ?>" placeholder="<?php echo esc_attr( (string) get_option( 'admin_email' ) ); ?>">
			<p class="description"><?php esc_html_e( 'Empty: the site\'s administration email address (Settings → General).', 'crmhook' ); ?></p>
		</td>
	</tr>
	<tr>
		<th scope="row"><label for="crmhook-ck-unsubscribe-role"><?php esc_html_e( 'Remove role', 'crmhook' ); ?></label></th>
		<td>
			<select id="crmhook-ck-unsubscribe-role" name="<?php echo $field( 'ck_unsubscribe_remove_role' ); ?>">
				<option value=""><?php esc_html_e( '— keep every role —', 'crmhook' ); ?></option>
				<?php foreach ( wp_roles()->roles as $slug => $role ) : ?>
					<option value="<?php echo esc_attr( $slug ); ?>" <?php selected( (string) $s['ck_unsubscribe_remove_role'], $slug ); ?>><?php echo esc_html( translate_user_role( $role['name'] ) ); ?></option>
				<?php endforeach; ?>
			</select>
			<p class="description"><?php esc_html_e( 'Taken off the user who unsubscribed, e.g. a members-only role.', 'crmhook' ); ?></p>
		</td>
	</tr>
	<tr>
		<th scope="row"><?php esc_html_e( 'Tags', 'crmhook' ); ?></th>
		<td><label><input type="checkbox" id="crmhook-ck-unsubscribe-tags" name="<?php echo $field( 'ck_unsubscribe_clear_tags' ); ?>" value="1" <?php checked( $s['ck_unsubscribe_clear_tags'] ); ?>>
			<?php esc_html_e( 'Remove all of the user\'s tags on this site (fires crmhook_tags_removed and crmhook_tags_modified)', 'crmhook' ); ?></label></td>
	</tr>
</table>
