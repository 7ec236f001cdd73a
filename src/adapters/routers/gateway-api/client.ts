/** The Kubernetes API client the router uses; shared with the kubernetes deploy target (src/adapters/kubernetes/client.ts). */
export { kubeClientFromKubeConfig, KubeApiError, type KubeClient, type KubeConfigClientOptions } from '../../kubernetes/client.js';
