;; expect: unclosed-paren
(defun c:CNT (/ ss)
  (setq ss (ssget '((0 . "LINE"))))
  (if ss
    (princ (strcat "\n" (itoa (sslength ss)) " lines"))
  (princ)
)
