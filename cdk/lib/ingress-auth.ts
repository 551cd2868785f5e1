import {
  AuthorizationType,
  type IApiKey,
  type IAuthorizer,
  type MethodOptions,
  type RestApi,
  type UsagePlanProps,
} from 'aws-cdk-lib/aws-apigateway';

/**
 * How the invocation routes of a Dormant API are authorized (DESIGN rule
 * 9): start, send, call, status, output, attach, cancel, kill, purge,
 * workflow output and attach, shared handlers. Callback routes
 * (`/restate/awakeables/…`, `/restate/a/…`, `/2025-12-01/…`) are never
 * behind it: the awakeable id in their URL is their authorization, so
 * webhook senders and `@aws-sdk/client-lambda` (which signs for the
 * `lambda` service, not `execute-api`) can reach them.
 *
 * - {@link IngressAuth.iam} (the default): SigV4, `execute-api:Invoke` on
 *   the methods; grant it with {@link DurableRuntime.grantInvoke}.
 * - {@link IngressAuth.apiKey}: an API key and a usage plan.
 * - {@link IngressAuth.authorizer}: a Cognito user pool authorizer (JWTs of
 *   the pool) or a Lambda authorizer you pass.
 * - {@link IngressAuth.none}: open to anyone who has the URL; you must write
 *   it out, and cdk-nag's findings on the open methods stay for you to see.
 *
 * @example
 * new DurableRuntime(this, 'Runtime', { ingressAuth: IngressAuth.authorizer(new CognitoUserPoolsAuthorizer(this, 'Users', { cognitoUserPools: [pool] })) });
 */
export abstract class IngressAuth {
  /**
   * IAM authorization (AWS Signature Version 4 for `execute-api`): callers
   * need `execute-api:Invoke` on the API's methods. The default.
   *
   * @example
   * const auth = IngressAuth.iam();
   */
  static iam(): IngressAuth {
    return new (class extends IngressAuth {
      readonly mode = 'iam' as const;
      methodOptions(): MethodOptions {
        return { authorizationType: AuthorizationType.IAM };
      }
    })();
  }

  /**
   * An API key in `x-api-key`, checked by API Gateway against a usage plan
   * the runtime creates (its throttle and quota from `usagePlan`). Keys
   * identify callers; they are not signatures: prefer IAM or an authorizer
   * where callers can use them.
   *
   * @example
   * const auth = IngressAuth.apiKey({ usagePlan: { quota: { limit: 100_000, period: Period.DAY } } });
   */
  static apiKey(options: { usagePlan?: Omit<UsagePlanProps, 'apiStages'> } = {}): IngressAuth {
    return new (class extends IngressAuth {
      readonly mode = 'api-key' as const;
      methodOptions(): MethodOptions {
        return { apiKeyRequired: true };
      }
      override bind(api: RestApi): IApiKey {
        const key = api.addApiKey('IngressApiKey', { description: 'Dormant: the key of the invocation routes' });
        const plan = api.addUsagePlan('IngressUsagePlan', {
          description: 'Dormant: invocation routes',
          ...options.usagePlan,
          apiStages: [{ api, stage: api.deploymentStage }],
        });
        plan.addApiKey(key);
        return key;
      }
    })();
  }

  /**
   * A Cognito user pool authorizer (callers send a JWT of the pool in
   * `Authorization`) or a Lambda (token or request) authorizer, for any
   * other identity provider.
   *
   * @example
   * const auth = IngressAuth.authorizer(new CognitoUserPoolsAuthorizer(this, 'Users', { cognitoUserPools: [pool] }), { scopes: ['dormant/invoke'] });
   */
  static authorizer(authorizer: IAuthorizer, options: { scopes?: string[] } = {}): IngressAuth {
    return new (class extends IngressAuth {
      readonly mode = 'authorizer' as const;
      readonly authorizationType = authorizer.authorizationType;
      methodOptions(): MethodOptions {
        return { authorizer, authorizationType: authorizer.authorizationType, authorizationScopes: options.scopes };
      }
    })();
  }

  /**
   * No authorization: anyone with the URL may start, read, cancel, kill
   * and purge invocations. The ingress then leaves capability ids and other
   * invocations' ids out of its answers, but that is all it can do; cdk-nag
   * reports the open methods (AwsSolutions-APIG4, -COG4) for you to
   * acknowledge. Also accepted as the string `'none'`.
   *
   * @example
   * const auth = IngressAuth.none();
   */
  static none(): IngressAuth {
    return new (class extends IngressAuth {
      readonly mode = 'none' as const;
      methodOptions(): MethodOptions {
        return { authorizationType: AuthorizationType.NONE };
      }
    })();
  }

  /** What the ingress is told (`DORMANT_INGRESS_AUTH`): whether its invocation callers were authorized before they got to it. */
  abstract readonly mode: 'iam' | 'api-key' | 'authorizer' | 'none';

  /** The options of every invocation method. */
  abstract methodOptions(): MethodOptions;

  /** Creates what the mode needs on the API once its methods exist (the API key and usage plan). */
  bind(_api: RestApi): IApiKey | undefined {
    return undefined;
  }
}
