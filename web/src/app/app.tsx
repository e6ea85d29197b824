import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from 'react-router';
import { AuthProvider } from '@/features/auth/auth-provider';
import { I18nProvider } from '@/i18n';
import { isApiError } from '@/api/errors';
import { router } from './router';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // Errors the user must act on are not worth repeating.
      retry: (count, error) => count < 2 && !isApiError(error, 'NOT_FOUND') && !isApiError(error, 'FORBIDDEN') && !isApiError(error, 'INVALID_TOKEN'),
    },
  },
});

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <I18nProvider>
        <AuthProvider>
          <RouterProvider router={router} />
        </AuthProvider>
      </I18nProvider>
    </QueryClientProvider>
  );
}
