<?php
/**
 * CrmHook_Contacts: the contact index on a real WordPress database.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class ContactsTest extends TestCase
{
    protected function setUp(): void
    {
        global $wpdb;
        $wpdb->query('DELETE FROM ' . CrmHook_Contacts::table());
    }

    private function user(string $login): int
    {
        $id = wp_insert_user(['user_login' => $login . wp_rand(), 'user_email' => $login . wp_rand() . '@example.com', 'user_pass' => 'x']);
        $this->assertIsInt($id);
        return $id;
    }

    public function testActivationCreatesTheTableWithItsPrimaryKey(): void
    {
        global $wpdb;
        $keys = $wpdb->get_results('SHOW INDEX FROM ' . CrmHook_Contacts::table(), ARRAY_A);
        $primary = array_column(array_filter($keys, static fn ($k) => $k['Key_name'] === 'PRIMARY'), 'Column_name');
        $this->assertSame(['crm', 'contact_id'], $primary);
        $this->assertContains('user_id', array_column($keys, 'Column_name'));
    }

    public function testRelinkingAContactRemovesTheOldUsersContactMeta(): void
    {
        $ann = $this->user('ann');
        $bob = $this->user('bob');
        CrmHook_Contacts::link('keap', '42', $ann);
        CrmHook_Contacts::link('keap', '42', $bob);
        $this->assertSame($bob, CrmHook_Contacts::user_for('keap', '42'));
        $this->assertSame(['42'], get_user_meta($bob, 'infusionsoft_contact_id'));
        $this->assertSame([], get_user_meta($ann, 'infusionsoft_contact_id'), 'integrations never see two users with contact 42');

        // Meta that names another of the user's contacts stays.
        CrmHook_Contacts::link('keap', '7', $ann);
        CrmHook_Contacts::link('keap', '8', $bob);
        CrmHook_Contacts::link('keap', '42', $ann);
        $this->assertSame(['8'], get_user_meta($bob, 'infusionsoft_contact_id'));
    }

    public function testUnlinkRemovesTheUsersContactMeta(): void
    {
        $ann = $this->user('ann');
        CrmHook_Contacts::link('fluentcrm', '42', $ann);
        CrmHook_Contacts::unlink('fluentcrm', '42');
        $this->assertNull(CrmHook_Contacts::user_for('fluentcrm', '42'));
        $this->assertSame('', get_user_meta($ann, 'fluentcrm-rest_contact_id', true));
    }

    public function testLinkThenLookUpBothWays(): void
    {
        $id = $this->user('ann');
        CrmHook_Contacts::link('keap', '42', $id);
        $this->assertSame($id, CrmHook_Contacts::user_for('keap', '42'));
        $this->assertSame('42', CrmHook_Contacts::contact_for('keap', $id));
        $this->assertNull(CrmHook_Contacts::user_for('activecampaign', '42'), 'links are per CRM');
        $this->assertSame('42', get_user_meta($id, 'infusionsoft_contact_id', true), 'the incumbent meta key is written too');
    }

    public function testLinkingAContactAgainMovesIt(): void
    {
        [$a, $b] = [$this->user('a'), $this->user('b')];
        CrmHook_Contacts::link('kit', '7', $a);
        CrmHook_Contacts::link('kit', '7', $b);
        global $wpdb;
        $this->assertSame('1', $wpdb->get_var('SELECT COUNT(*) FROM ' . CrmHook_Contacts::table() . " WHERE crm = 'kit' AND contact_id = '7'"));
        $this->assertSame($b, CrmHook_Contacts::user_for('kit', '7'));
    }

    public function testTheIndexRefusesASecondRowForAContact(): void
    {
        global $wpdb;
        $id = $this->user('c');
        $wpdb->insert(CrmHook_Contacts::table(), ['crm' => 'kit', 'contact_id' => '8', 'user_id' => $id, 'linked_at' => current_time('mysql', true)]);
        $wpdb->suppress_errors(true);
        $second = $wpdb->insert(CrmHook_Contacts::table(), ['crm' => 'kit', 'contact_id' => '8', 'user_id' => $id + 1, 'linked_at' => current_time('mysql', true)]);
        $wpdb->suppress_errors(false);
        $this->assertFalse($second);
    }

    public function testDeletingAUserDeletesTheirLinks(): void
    {
        require_once ABSPATH . 'wp-admin/includes/user.php';
        $id = $this->user('gone');
        CrmHook_Contacts::link('fluentcrm', '9', $id);
        wp_delete_user($id);
        global $wpdb;
        $this->assertSame('0', $wpdb->get_var('SELECT COUNT(*) FROM ' . CrmHook_Contacts::table() . ' WHERE user_id = ' . $id));
        $this->assertNull(CrmHook_Contacts::user_for('fluentcrm', '9'));
    }

    public function testActivationMigratesLinksFromWpFusionMeta(): void
    {
        $id = $this->user('moved');
        update_user_meta($id, 'autonami_contact_id', '555');
        update_user_meta($id, 'activecampaign_contact_id', '556');
        $this->assertGreaterThanOrEqual(2, CrmHook_Contacts::migrate_from_meta());
        $this->assertSame($id, CrmHook_Contacts::user_for('funnelkit', '555'));
        $this->assertSame($id, CrmHook_Contacts::user_for('activecampaign', '556'));
        $this->assertSame(0, CrmHook_Contacts::migrate_from_meta(), 'existing rows win; nothing added twice');
    }
}
