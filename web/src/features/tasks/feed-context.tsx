import { createContext, useContext, type ReactNode } from 'react';
import type { SocketState } from '@/api/task-socket';
import { useTaskFeed } from './use-task-feed';

const FeedContext = createContext<SocketState>('closed');

/** Opens the live task feed for everything below it. */
export function TaskFeedProvider({ children }: { children: ReactNode }) {
  const state = useTaskFeed(true);
  return <FeedContext.Provider value={state}>{children}</FeedContext.Provider>;
}

export function useFeedState(): SocketState {
  return useContext(FeedContext);
}
