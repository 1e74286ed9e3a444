import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RouteDurations } from './route-durations.js';

describe('RouteDurations', () => {
  it('exposes a cumulative Prometheus histogram per method, route and status', async () => {
    const registry = new Registry();
    const durations = new RouteDurations(registry);
    durations.observe('api', 'GET', '/a', 200, 0.0005);
    durations.observe('api', 'GET', '/a', 200, 0.003);
    durations.observe('api', 'GET', '/a', 200, 7);
    durations.observe('api', 'GET', '/a', 404, 0.001);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toContain('http_request_duration_seconds_bucket{listener="api",method="GET",route="/a",status="200",le="0.001"} 1');
    expect(text).toContain('http_request_duration_seconds_bucket{listener="api",method="GET",route="/a",status="200",le="0.005"} 2');
    expect(text).toContain('http_request_duration_seconds_bucket{listener="api",method="GET",route="/a",status="200",le="5"} 2');
    expect(text).toContain('http_request_duration_seconds_bucket{listener="api",method="GET",route="/a",status="200",le="+Inf"} 3');
    expect(text).toContain('http_request_duration_seconds_count{listener="api",method="GET",route="/a",status="200"} 3');
    expect(text).toContain('http_request_duration_seconds_sum{listener="api",method="GET",route="/a",status="200"} 7.0035');
    durations.observe('sbi', 'GET', '/a', 200, 0.0005);
    expect(await registry.metrics()).toContain('http_request_duration_seconds_count{listener="sbi",method="GET",route="/a",status="200"} 1');
    // An observation on a bound belongs to that bucket (le is "less than or equal").
    expect(text).toContain('http_request_duration_seconds_bucket{listener="api",method="GET",route="/a",status="404",le="0.001"} 1');
  });
});
