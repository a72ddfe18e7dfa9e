<?php
/**
 * uninstall.php removes the plugin's data only when the owner asked for it.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class UninstallTest extends TestCase
{
    private function tableExists(): bool
    {
        global $wpdb;
        return $wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', CrmHook_Contacts::table())) === CrmHook_Contacts::table();
    }

    private function uninstall(): void
    {
        if (!defined('WP_UNINSTALL_PLUGIN')) {
            define('WP_UNINSTALL_PLUGIN', 'crmhook/crmhook.php');
        }
        include WP_PLUGIN_DIR . '/crmhook/uninstall.php';
        wp_cache_flush();
    }

    protected function tearDown(): void
    {
        CrmHook_Plugin::activate(); // leave the site as the other tests expect it
    }

    public function testDataStaysUnlessTheOwnerAskedForItsRemoval(): void
    {
        $id = wp_insert_user(['user_login' => 'keeps' . wp_rand(), 'user_email' => wp_rand() . '@example.com', 'user_pass' => 'x']);
        CrmHook_Contacts::link('keap', '77', $id);
        CrmHook_Settings::update(['delete_data_on_uninstall' => false]);

        $this->uninstall();

        $this->assertTrue($this->tableExists());
        $this->assertNotFalse(get_option('crmhook_settings'));
        $this->assertSame('77', get_user_meta($id, 'infusionsoft_contact_id', true));
    }

    public function testAskedForRemovalTheTableOptionsAndLinksGo(): void
    {
        $id = wp_insert_user(['user_login' => 'goes' . wp_rand(), 'user_email' => wp_rand() . '@example.com', 'user_pass' => 'x']);
        CrmHook_Contacts::link('keap', '78', $id);
        update_user_meta($id, 'infusionsoft_tags', ['1']);
        update_user_meta($id, 'unrelated_meta', 'stays');
        CrmHook_Settings::update(['delete_data_on_uninstall' => true, 'delete_shared_meta_on_uninstall' => true]);

        $this->uninstall();

        $this->assertFalse($this->tableExists());
        global $wpdb;
        $this->assertNull($wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', CrmHook_Log::table())), 'the webhook log goes');
        $this->assertFalse(get_option('crmhook_settings'));
        $this->assertSame('', get_user_meta($id, 'infusionsoft_contact_id', true));
        $this->assertSame('', get_user_meta($id, 'infusionsoft_tags', true));
        $this->assertSame('stays', get_user_meta($id, 'unrelated_meta', true));
    }

    public function testTheLinksAndTagsWpFusionSharesStayUnlessTheOwnerTickedThemToo(): void
    {
        $id = wp_insert_user(['user_login' => 'shared' . wp_rand(), 'user_email' => wp_rand() . '@example.com', 'user_pass' => 'x']);
        CrmHook_Contacts::link('keap', '79', $id);
        update_user_meta($id, 'infusionsoft_tags', ['1']);
        CrmHook_Settings::update(['delete_data_on_uninstall' => true, 'delete_shared_meta_on_uninstall' => false]);

        $this->uninstall();

        $this->assertFalse($this->tableExists(), "crmhook's own data goes");
        $this->assertSame('79', get_user_meta($id, 'infusionsoft_contact_id', true), 'the meta WP Fusion reads stays');
        $this->assertSame(['1'], get_user_meta($id, 'infusionsoft_tags', true));
    }
}
