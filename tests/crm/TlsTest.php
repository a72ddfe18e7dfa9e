<?php
/**
 * The CRM clients over HTTPS, as every real CRM answers: tests/emulator/tls.sh puts nginx with
 * certificates of a private CA in front of the emulator. Certificates are verified (a wrong host,
 * an expired certificate or an unknown issuer is a 502 that says which, never a silent fallback),
 * a private CA works once crmhook.ca_file names it, and connections are reused over TLS.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Crm;

use CrmHook\Tests\E2E\E2ETestCase;

final class TlsTest extends E2ETestCase
{
    private static int $port;
    private static string $dir;

    public static function setUpBeforeClass(): void
    {
        parent::setUpBeforeClass();
        self::$port = (int) parse_url(self::$emulator, PHP_URL_PORT) + 1;
        self::$dir = self::$runDir . '/tls';
        $script = dirname(__DIR__) . '/emulator/tls.sh';
        exec('TLS_PORT=' . self::$port . ' TLS_DIR=' . escapeshellarg(self::$dir) . ' ' . escapeshellarg($script) . ' start 2>&1', $out, $status);
        if ($status !== 0) {
            throw new \RuntimeException("tls.sh did not start:\n" . implode("\n", $out));
        }
    }

    public static function tearDownAfterClass(): void
    {
        exec('TLS_PORT=' . self::$port . ' TLS_DIR=' . escapeshellarg(self::$dir) . ' ' . escapeshellarg(dirname(__DIR__) . '/emulator/tls.sh') . ' stop 2>&1');
    }

    protected function setUp(): void
    {
        $this->emulatorPost('/_emulator/reset');
        ini_set('crmhook.http_timeout', '10');
        ini_set('crmhook.ca_file', self::$dir . '/ca.pem');
    }

    protected function tearDown(): void
    {
        ini_set('crmhook.ca_file', '');
    }

    /** Loads Keap's contact 1001 through one of the TLS ports. */
    private function fetch(int $offset = 0): array
    {
        $config = ['crm' => 'keap', 'api_url' => 'https://127.0.0.1:' . (self::$port + $offset) . '/keap'] + self::$credentials['keap'];
        return crmhook_fetch_contact($config, '1001');
    }

    /** @return array{int, string} The refusal's code and message. */
    private function refused(int $offset): array
    {
        return $this->failing(fn () => $this->fetch($offset));
    }

    public function testAPrivateCaWorksOnceCrmhookCaFileNamesIt(): void
    {
        $this->assertSame('ann.keap@example.com', $this->fetch()['email']);
    }

    public function testWithoutItThePrivateCaIsRefusedAndTheMessageSaysWhatToDo(): void
    {
        ini_set('crmhook.ca_file', '');
        [$code, $message] = $this->refused(0);
        $this->assertSame(502, $code);
        $this->assertStringContainsString('Keap: loading contact 1001 failed: the TLS certificate was refused', $message);
        $this->assertStringContainsString('authority this site does not trust', $message);
        $this->assertStringContainsString('crmhook.ca_file', $message);
    }

    public function testACertificateForAnotherHostIsRefused(): void
    {
        [$code, $message] = $this->refused(1);
        $this->assertSame(502, $code);
        $this->assertStringContainsString('not valid for this host name', $message);
    }

    public function testAnExpiredCertificateIsRefused(): void
    {
        [$code, $message] = $this->refused(2);
        $this->assertSame(502, $code);
        $this->assertStringContainsString('it has expired', $message);
    }

    public function testACertificateFromAnotherCaIsRefusedEvenWithACaFile(): void
    {
        [$code, $message] = $this->refused(3);
        $this->assertSame(502, $code);
        $this->assertStringContainsString('authority this site does not trust', $message);
    }

    public function testAnUnreadableCaFileIsSaid(): void
    {
        ini_set('crmhook.ca_file', self::$dir . '/no-such.pem');
        [$code, $message] = $this->refused(0);
        $this->assertSame(502, $code);
        $this->assertStringContainsString('cannot read crmhook.ca_file', $message);
    }

    public function testNothingIsSentWhenTheCertificateIsRefused(): void
    {
        $this->refused(2);
        $this->assertSame([], $this->crmCalls('keap'), 'the request (and its key) never left the client');
    }

    public function testConnectionsAreReusedOverTls(): void
    {
        $log = self::$dir . '/access.log';
        $before = count(file($log) ?: []);
        for ($i = 0; $i < 4; $i++) {
            $this->fetch();
        }
        // "port connection requests status uri": the four calls share one TLS connection. nginx
        // writes a line once it has answered, so the last may lag the client by a moment.
        $deadline = microtime(true) + 5;
        do {
            clearstatcache();
            $lines = array_slice(file($log, FILE_IGNORE_NEW_LINES) ?: [], $before);
            $ours = array_values(array_filter(array_map(static fn ($l) => explode(' ', $l), $lines), static fn ($f) => (int) $f[0] === self::$port));
        } while (count($ours) < 4 && microtime(true) < $deadline && usleep(50000) === null);
        $this->assertCount(4, $ours, implode("\n", $lines));
        $this->assertCount(1, array_unique(array_column($ours, 1)), 'one TLS connection: ' . implode("\n", $lines));
        $this->assertGreaterThan(1, (int) end($ours)[2], 'several requests on it');
    }
}
