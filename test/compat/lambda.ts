/**
 * The compatibility suite as a handler Lambda, in Restate's Lambda shape.
 */
import * as restate from 'dormant-lambda';
import { services } from './services.ts';

export const handler = restate.createEndpointHandler({ services });
