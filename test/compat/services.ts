/**
 * Every service of the compatibility suite, for the app, the Lambda entry
 * and the tests.
 */
import { buildingBlocks, payments, subscriptions } from './basics.ts';
import { boss, combinators, greeter, jobs, mistakes, requests } from './extras.ts';
import { greeterObject, queue, worker } from './objects.ts';
import { cars, flights, trips } from './sagas.ts';
import { signup } from './workflows.ts';

export const services = [
  subscriptions,
  payments,
  buildingBlocks,
  greeterObject,
  queue,
  worker,
  signup,
  flights,
  cars,
  trips,
  requests,
  combinators,
  greeter,
  jobs,
  boss,
  mistakes,
];
