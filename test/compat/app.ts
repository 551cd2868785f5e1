/**
 * The compatibility suite served as Restate's examples serve theirs: run
 * this file with `tsx` and the local plane starts on its services (the API
 * on `PORT`, else 8080).
 */
import * as restate from 'dormant-lambda';
import { services } from './services.ts';

void restate.serve({ services, port: 9080 });
