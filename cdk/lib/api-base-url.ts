import { Fn, Stack } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';

/**
 * How the runtime spells the public base URL of its REST API, which
 * awakeables embed in their resolve URL (`DORMANT_API_URL`).
 *
 * The URL is built from the API's id, not from `RestApi.url`: `url` refers to
 * the stage, the stage to the deployment, the deployment to the methods and
 * the methods to the ingress function, so a function that needs the URL would
 * close a dependency cycle. The id alone depends on nothing.
 *
 * @example
 * new DurableRuntime(this, 'Runtime', { apiBaseUrl: ApiBaseUrl.custom('https://hooks.example.com') });
 */
export abstract class ApiBaseUrl {
  /**
   * The regional execute-api endpoint:
   * `https://{id}.execute-api.{region}.{urlSuffix}/{stage}`. The default.
   *
   * @example
   * ApiBaseUrl.executeApi()
   */
  static executeApi(): ApiBaseUrl {
    return new (class extends ApiBaseUrl {
      bind(api: IRestApi, stageName: string): string {
        const stack = Stack.of(api);
        return Fn.join('', ['https://', api.restApiId, '.execute-api.', stack.region, '.', stack.urlSuffix, '/', stageName]);
      }
    })();
  }

  /**
   * LocalStack's API Gateway endpoint:
   * `http://{id}.execute-api.localhost.localstack.cloud:{port}/{stage}`.
   * The host resolves to LocalStack both on the host and inside its Lambda
   * containers.
   *
   * @example
   * ApiBaseUrl.localStack({ port: 4566 })
   */
  static localStack(options: { readonly port?: number } = {}): ApiBaseUrl {
    const port = options.port ?? 4566;
    return new (class extends ApiBaseUrl {
      bind(api: IRestApi, stageName: string): string {
        return Fn.join('', ['http://', api.restApiId, `.execute-api.localhost.localstack.cloud:${port}/`, stageName]);
      }
    })();
  }

  /**
   * A fixed URL, e.g. a custom domain mapped to the API's stage. A trailing
   * slash is removed.
   *
   * @example
   * ApiBaseUrl.custom('https://hooks.example.com')
   */
  static custom(url: string): ApiBaseUrl {
    const trimmed = url.replace(/\/+$/, '');
    return new (class extends ApiBaseUrl {
      bind(): string {
        return trimmed;
      }
    })();
  }

  /**
   * The base URL for `api` at `stageName`, with no trailing slash.
   *
   * @example
   * const url = ApiBaseUrl.executeApi().bind(api, 'prod');
   */
  abstract bind(api: IRestApi, stageName: string): string;
}
