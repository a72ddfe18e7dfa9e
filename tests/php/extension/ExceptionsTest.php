<?php
/**
 * The `CrmHook\` exceptions: real classes PHP code can catch as \RuntimeException, construct,
 * extend, and that carry a real trace when the extension throws them.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

use CrmHook\CrmException;
use CrmHook\WebhookException;
use ReflectionClass;
use RuntimeException;

/** A plugin-side subclass, as PHP code may write one. */
final class QueuedWebhookException extends WebhookException
{
    public function __construct(public readonly string $jobId)
    {
        parent::__construct("webhook queued as $jobId", 202);
    }
}

final class ExceptionsTest extends ExtensionTestCase
{
    /** @return iterable<string, array{class-string}> */
    public static function exceptionClassProvider(): iterable
    {
        yield 'WebhookException' => [WebhookException::class];
        yield 'CrmException' => [CrmException::class];
    }

    /**
     * @dataProvider exceptionClassProvider
     * @param class-string $class
     */
    public function testExceptionClassExistsAndExtendsRuntimeException(string $class): void
    {
        $this->assertTrue(class_exists($class, false), "$class is registered by the extension");
        $reflection = new ReflectionClass($class);
        $this->assertSame(RuntimeException::class, $reflection->getParentClass()->getName());
        $this->assertTrue($reflection->isInternal());
        $this->assertSame('crmhook', $reflection->getExtensionName());
        $this->assertFalse($reflection->isFinal(), 'PHP code may extend it');
        $this->assertFalse($reflection->isAbstract());
        $this->assertTrue($reflection->isInstantiable());
    }

    /**
     * @dataProvider exceptionClassProvider
     * @param class-string<RuntimeException> $class
     */
    public function testExceptionCanBeConstructedLikeAnyException(string $class): void
    {
        $line = __LINE__ + 1;
        $e = new $class('x', 400);
        $this->assertSame('x', $e->getMessage());
        $this->assertSame(400, $e->getCode());
        $this->assertSame(__FILE__, $e->getFile());
        $this->assertSame($line, $e->getLine());
        $this->assertNull($e->getPrevious());

        $previous = new \LogicException('cause');
        $chained = new $class('outer', 502, $previous);
        $this->assertSame($previous, $chained->getPrevious());

        $bare = new $class();
        $this->assertSame('', $bare->getMessage());
        $this->assertSame(0, $bare->getCode());
        $this->assertStringStartsWith($class . ': x in ' . __FILE__, (string) $e);
    }

    /**
     * @dataProvider exceptionClassProvider
     * @param class-string<RuntimeException> $class
     */
    public function testExceptionIsCaughtAsRuntimeException(string $class): void
    {
        try {
            throw new $class('caught', 403);
        } catch (RuntimeException $e) {
            $this->assertInstanceOf($class, $e);
            $this->assertSame(403, $e->getCode());
        }
    }

    public function testExceptionCanBeExtendedFromPhp(): void
    {
        $e = new QueuedWebhookException('job-17');
        $this->assertInstanceOf(WebhookException::class, $e);
        $this->assertInstanceOf(RuntimeException::class, $e);
        $this->assertSame('job-17', $e->jobId);
        $this->assertSame('webhook queued as job-17', $e->getMessage());
        $this->assertSame(202, $e->getCode());
        $this->assertNotInstanceOf(CrmException::class, $e);
    }

    public function testThrownWebhookExceptionHasARealTrace(): void
    {
        $line = __LINE__ + 2;
        try {
            crmhook_parse_webhook(['method' => 'GET', 'query' => 'wpf_action=test&access_key=nope'], ['crm' => 'keap', 'access_key' => self::KEY]);
            $this->fail('expected a 403');
        } catch (WebhookException $e) {
            $this->assertSame(403, $e->getCode());
            $this->assertSame(WebhookException::class, get_class($e), 'exactly the documented class');
            $this->assertSame(__FILE__, $e->getFile(), 'the file of the PHP call');
            $this->assertSame($line, $e->getLine(), 'the line of the PHP call');
            $trace = $e->getTrace();
            $this->assertNotEmpty($trace);
            $this->assertSame('crmhook_parse_webhook', $trace[0]['function']);
            $this->assertSame(__FILE__, $trace[0]['file']);
            $this->assertSame($line, $trace[0]['line']);
            $this->assertSame(__FUNCTION__, $trace[1]['function'], 'then the test method that called it');
            $this->assertSame(self::class, $trace[1]['class']);
            $this->assertStringContainsString('crmhook_parse_webhook()', $e->getTraceAsString());
        }
    }

    public function testThrownExceptionFromANestedCallShowsEveryFrame(): void
    {
        $mapper = static fn (array $contact): array => crmhook_map_contact($contact, ['roles' => ['subscriber' => ['read' => true]]], null);
        try {
            $mapper(['id' => '5', 'email' => '']);
            $this->fail('expected a 422');
        } catch (WebhookException $e) {
            $this->assertSame(422, $e->getCode());
            $functions = array_column($e->getTrace(), 'function');
            $this->assertSame('crmhook_map_contact', $functions[0]);
            $this->assertStringEndsWith('{closure}', $functions[1]);
            $this->assertContains(__FUNCTION__, $functions);
        }
    }

    public function testThrownCrmExceptionHasARealTraceAndNoCredential(): void
    {
        // Nothing listens on port 1 of this machine: the call fails at once, without the network.
        ini_set('crmhook.http_timeout', '2');
        $secret = 'ac-api-token-' . bin2hex(random_bytes(8));
        $line = __LINE__ + 2;
        try {
            crmhook_fetch_contact(['crm' => 'activecampaign', 'api_url' => 'http://127.0.0.1:1', 'api_key' => $secret], '42');
            $this->fail('expected a CrmException');
        } catch (CrmException $e) {
            $this->assertContains($e->getCode(), [502, 504]);
            $this->assertStringContainsString('ActiveCampaign', $e->getMessage(), 'names the CRM');
            $this->assertStringContainsString('42', $e->getMessage(), 'names the step');
            $this->assertStringNotContainsString($secret, $e->getMessage());
            $this->assertSame($line, $e->getLine());
            $this->assertSame('crmhook_fetch_contact', $e->getTrace()[0]['function']);
        }
    }

    public function testPlainHttpApiUrlsAreRefusedOutsideDevelopmentHosts(): void
    {
        $secret = 'ac-api-token-' . bin2hex(random_bytes(8));
        try {
            crmhook_fetch_contact(['crm' => 'activecampaign', 'api_url' => 'http://acct.api-us1.com', 'api_key' => $secret], '42');
            $this->fail('a key was about to travel in clear text');
        } catch (\ValueError $e) {
            $this->assertStringContainsString("ActiveCampaign's api_url must use https://", $e->getMessage());
            $this->assertStringNotContainsString($secret, $e->getMessage());
        }
        try {
            crmhook_check_api_url('http://crm.example.com/wp-json');
            $this->fail('crmhook_check_api_url accepted http:// on a public host');
        } catch (\ValueError $e) {
            $this->assertStringContainsString('must use https://', $e->getMessage());
        }
        crmhook_check_api_url('https://crm.example.com');
        crmhook_check_api_url('http://127.0.0.1:8790/fluentcrm');
        crmhook_check_api_url('http://192.168.1.20');
        $this->addToAssertionCount(3);
    }

    public function testIdsMayBeIntegersAsCrmsSendThemAndAnythingElseIsANamedTypeError(): void
    {
        // Nothing listens on port 1: the id was accepted when the call reaches the CRM.
        $crm = ['crm' => 'kit', 'api_url' => 'http://127.0.0.1:1', 'api_key' => 'k'];
        foreach ([1001, '1001'] as $id) {
            try {
                crmhook_fetch_contact($crm, $id);
                $this->fail('nothing listens there');
            } catch (CrmException $e) {
                $this->assertStringContainsString('loading subscriber 1001', $e->getMessage());
            }
        }
        foreach ([[1001], null, 1.5] as $wrong) {
            try {
                crmhook_remove_tag($crm, 1001, $wrong);
                $this->fail('a ' . gettype($wrong) . ' tag id was accepted');
            } catch (\TypeError $e) {
                $this->assertMatchesRegularExpression('/^crmhook_remove_tag\(\): Argument #3 \(\$tag_id\) must be of type string\|int, (array|null|float) given$/', $e->getMessage());
            }
        }
    }

    public function testAMisspeltKeyIsAValueErrorNamingItAndTheKnownOnes(): void
    {
        try {
            crmhook_map_contact(['id' => '1', 'email' => 'ann@example.com'], ['default_rol' => 'customer'], null);
            $this->fail('a misspelt option was ignored');
        } catch (\ValueError $e) {
            $this->assertStringContainsString('unknown key "default_rol" in $options', $e->getMessage());
            $this->assertStringContainsString('default_role', $e->getMessage(), 'names the known keys');
        }
        try {
            crmhook_fetch_contact(['crm' => 'keap', 'apikey' => 'k'], '42');
            $this->fail('a misspelt credential was ignored');
        } catch (\ValueError $e) {
            $this->assertStringContainsString('unknown key "apikey" in $crm', $e->getMessage());
            $this->assertStringContainsString('api_key', $e->getMessage());
        }
    }

    public function testExceptionsAreDistinctClasses(): void
    {
        $this->assertFalse(is_a(WebhookException::class, CrmException::class, true));
        $this->assertFalse(is_a(CrmException::class, WebhookException::class, true));
    }
}
